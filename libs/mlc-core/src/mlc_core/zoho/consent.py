"""Authorizing the connector in a customer's Zoho org (zoho-crm.md §1.1, §1.2, §6.1).

`authorization_url` asks for offline access with consent, so Zoho issues a refresh token.
After consent Zoho redirects with `?code=…&location=eu&accounts-server=https://accounts.zoho.eu`;
the code must be exchanged at that accounts server. `redirect_grant` reads it, and refuses an
accounts server that is not an allowed Zoho host (mlc_core.zoho.hosts): the exchange sends the
client secret there.

The scopes asked for are what the connector calls, no more (docs/install.md lists them):
records of the modules it writes (read, create, update, delete: `.ALL` per module, and
`modules.custom` for the modules `mlc zoho setup` creates), module and field metadata
(read by `mlc ping`, created by `mlc zoho setup`), and the org (edition, concurrency).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from mlc_core.entities.zoho import ZOHO_MODULES
from mlc_core.zoho.errors import ZohoAuthError
from mlc_core.zoho.hosts import ZohoHostRefused, ZohoHosts
from mlc_core.zoho.oauth import ACCOUNTS_SERVERS, TokenGrant, exchange_grant_code


def module_scope(api_name: str, *, custom: bool) -> str:
    """Zoho's per-module scope: lower case without underscores, `custom` for our own (§1.6)."""
    name = "custom" if custom else api_name.lower().replace("_", "")
    return f"ZohoCRM.modules.{name}.ALL"


# Commas separate scopes in the authorization URL.
CONNECTOR_SCOPES = (
    *dict.fromkeys(
        module_scope(m.api_name, custom=m.singular is not None) for m in ZOHO_MODULES.values()
    ),
    "ZohoCRM.settings.modules.ALL",
    "ZohoCRM.settings.fields.ALL",
    "ZohoCRM.org.READ",
)


class ConsentError(ValueError):
    """The redirect (or pasted URL) cannot be used: what is wrong is in the message."""


@dataclass(frozen=True)
class RedirectGrant:
    code: str
    accounts_server: str
    location: str | None


def accounts_server(dc: str) -> str:
    try:
        return ACCOUNTS_SERVERS[dc]
    except KeyError:
        known = ", ".join(sorted(ACCOUNTS_SERVERS))
        raise ConsentError(f"unknown Zoho data centre {dc!r} (one of {known})") from None


def authorization_url(
    *,
    dc: str,
    client_id: str,
    redirect_uri: str | None = None,
    scopes: Iterable[str] = CONNECTOR_SCOPES,
    state: str | None = None,
    accounts_url: str | None = None,
) -> str:
    """The URL the org's admin opens to grant access (any DC's server works for multi-DC)."""
    params = {
        "scope": ",".join(scopes),
        "client_id": client_id,
        "response_type": "code",
        "access_type": "offline",  # without it Zoho issues no refresh token
        "prompt": "consent",  # a re-authorization without consent may issue none either
    }
    if redirect_uri:  # a client with one registered redirect URI may leave it out
        params["redirect_uri"] = redirect_uri
    if state:
        params["state"] = state
    base = accounts_url or accounts_server(dc)
    return f"{base.rstrip('/')}/oauth/v2/auth?{urlencode(params)}"


def redirect_grant(
    redirect: str, *, default_dc: str, hosts: ZohoHosts | None = None, state: str | None = None
) -> RedirectGrant:
    """The code and the accounts server to exchange it at, from the redirect URL.

    Without an `accounts-server` parameter (single-DC clients) the default DC's server is used.
    `hosts` (MLC_ZOHO_ALLOWED_HOSTS when None) adds accounts servers besides Zoho's own.
    """
    text = redirect.strip()
    query = parse_qs(urlsplit(text).query if "?" in text else text)  # a URL or just its query
    if "error" in query:
        raise ConsentError(f"Zoho refused the authorization: {query['error'][0]}")
    code = query.get("code", [""])[0]
    if not code:
        raise ConsentError("the redirect carries no code")
    if state is not None and query.get("state", [None])[0] != state:
        raise ConsentError("the redirect's state does not match: start the connection again")
    server = query.get("accounts-server", [accounts_server(default_dc)])[0].rstrip("/")
    try:
        (hosts or ZohoHosts()).check_accounts_url(server)
    except ZohoHostRefused as exc:
        raise ConsentError(str(exc)) from None
    return RedirectGrant(code, server, query.get("location", [None])[0])


async def exchange_redirect(
    http: httpx.AsyncClient,
    grant: RedirectGrant,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str | None,
    hosts: ZohoHosts | None = None,
    tenant_id: str | None = None,
) -> TokenGrant:
    """Exchange the code at the accounts server the redirect named; the grant's refresh token
    is the secret to store (encrypted) and its api_domain the org's API host."""
    token = await exchange_grant_code(
        http,
        accounts_url=grant.accounts_server,
        client_id=client_id,
        client_secret=client_secret,
        code=grant.code,
        redirect_uri=redirect_uri,
        hosts=hosts,
        tenant_id=tenant_id,
    )
    if token.refresh_token is None:  # exchange_grant_code already refuses this; kept explicit
        raise ZohoAuthError("no refresh token: authorize with access_type=offline")
    return token
