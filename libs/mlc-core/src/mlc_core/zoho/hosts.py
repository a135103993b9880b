"""Which hosts may receive a tenant's Zoho secrets (zoho-crm.md §1.1).

The client secret and refresh token go to the accounts server; every access token goes to the
`api_domain` a token response names. Both must be Zoho's own data-centre hosts, over HTTPS, or
a tampered tenant row, import file or token response would send them elsewhere.
`MLC_ZOHO_ALLOWED_HOSTS` (comma-separated `host` or `host:port`) adds hosts for the emulator,
tests or a company proxy; plain HTTP is accepted only for a loopback host, or for an entry
written with its scheme, `http://host:port` (an emulator on a private network, e.g. Compose's).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

from mlc_core.zoho.errors import ZohoAuthError

# Top-level domains of Zoho's data centres: US, EU, IN, AU, JP, CN, CA (zohocloud), SA, UK.
_ACCOUNTS_HOSTS = frozenset(
    {
        "accounts.zoho.com",
        "accounts.zoho.eu",
        "accounts.zoho.in",
        "accounts.zoho.com.au",
        "accounts.zoho.jp",
        "accounts.zoho.com.cn",
        "accounts.zohocloud.ca",
        "accounts.zoho.sa",
        "accounts.zoho.uk",
    }
)
_API_TLDS = ("com", "eu", "in", "com.au", "jp", "com.cn", "ca", "sa", "uk")
# Production, sandbox and developer-edition API hosts per DC (§1.1, SDK-CONST).
_API_HOSTS = frozenset(
    f"{prefix}.zohoapis.{tld}" for prefix in ("www", "sandbox", "developer") for tld in _API_TLDS
)


REFUSED = "HOST_NOT_ALLOWED"


class ZohoHostRefused(ZohoAuthError):
    """A URL that would receive a tenant's Zoho credentials is not an allowed Zoho host (or not
    HTTPS): permanent until the tenant is reconnected or the host is allowed."""


class ZohoHosts(BaseSettings):
    """The allow-list: Zoho's hosts plus `MLC_ZOHO_ALLOWED_HOSTS`."""

    model_config = SettingsConfigDict(env_prefix="MLC_ZOHO_", extra="ignore")

    allowed_hosts: str = ""

    def extra(self) -> frozenset[str]:
        """The added hosts (`host` or `host:port`), without the `http://` of plain-HTTP ones."""
        return frozenset(h.removeprefix("http://") for h in self._entries())

    def plain_http(self) -> frozenset[str]:
        return frozenset(h.removeprefix("http://") for h in self._entries() if "://" in h)

    def _entries(self) -> list[str]:
        return [h.strip().lower().rstrip("/") for h in self.allowed_hosts.split(",") if h.strip()]

    def check_accounts_url(self, url: str, *, tenant_id: str | None = None) -> str:
        """`url` itself when it may receive the client secret; ZohoHostRefused otherwise."""
        return self._check(url, _ACCOUNTS_HOSTS, "accounts server", tenant_id)

    def check_api_domain(self, url: str, *, tenant_id: str | None = None) -> str:
        """`url` itself when access tokens may be sent to it; ZohoHostRefused otherwise."""
        return self._check(url, _API_HOSTS, "API domain", tenant_id)

    def _check(self, url: str, zoho: frozenset[str], what: str, tenant_id: str | None) -> str:
        whose = f"tenant {tenant_id}: " if tenant_id else ""
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host:
            raise ZohoHostRefused(f"{whose}Zoho {what} {url!r} is not an http(s) URL", code=REFUSED)
        with_port = f"{host}:{parts.port}" if parts.port else host
        if parts.scheme == "http" and not (is_loopback(host) or with_port in self.plain_http()):
            raise ZohoHostRefused(
                f"{whose}Zoho {what} {url} must use HTTPS (plain HTTP only on loopback)",
                code=REFUSED,
            )
        if host in zoho or host in self.extra() or with_port in self.extra():
            return url
        raise ZohoHostRefused(
            f"{whose}Zoho {what} {url} is not one of Zoho's data-centre hosts; refusing to send"
            f" it credentials (MLC_ZOHO_ALLOWED_HOSTS adds a host)",
            code=REFUSED,
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
