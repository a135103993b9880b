"""Everything the Zoho emulator knows, independent of HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from zoho_emulator.clock import Clock
from zoho_emulator.dcs import is_data_centre
from zoho_emulator.faults import FaultTable
from zoho_emulator.oauth import GrantCode, OAuthServer
from zoho_emulator.orgs import EDITIONS, Org

DEFAULT_SCOPES = ("ZohoCRM.modules.ALL",)


class OrgNotFoundError(KeyError):
    """No org with this id."""


class ClientNotFoundError(KeyError):
    """No OAuth client with this id."""


class InvalidRequestError(ValueError):
    """A control request with bad values."""


class ConflictError(ValueError):
    """The request contradicts existing state (e.g. an org moved to another DC)."""


class ZohoState:
    def __init__(self, clock: Clock | None = None, *, token_ttl: int = 3600) -> None:
        self.clock = clock or Clock()
        self.oauth = OAuthServer(self.clock, token_ttl=token_ttl)
        self.faults = FaultTable(self.clock)
        self._orgs: dict[str, Org] = {}

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        dcs: Iterable[str] | None = None,
    ) -> None:
        dc_list = list(dcs or [])
        unknown = [dc for dc in dc_list if not is_data_centre(dc)]
        if unknown:
            raise InvalidRequestError(f"unknown data centre(s): {', '.join(unknown)}")
        self.oauth.register_client(client_id, client_secret, redirect_uri, dc_list or None)

    def add_org(
        self, org_id: str, dc: str, edition: str = "enterprise", tz: str = "UTC", users: int = 10
    ) -> Org:
        """Create an org, or return it unchanged if it exists in the same DC."""
        if not org_id or not is_data_centre(dc):
            raise InvalidRequestError(f"need an org_id and a known DC, got {org_id!r}/{dc!r}")
        if edition not in EDITIONS:
            raise InvalidRequestError(f"edition must be one of {', '.join(EDITIONS)}")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidRequestError(f"unknown time zone {tz!r}") from None
        existing = self._orgs.get(org_id)
        if existing is not None:
            if existing.dc != dc:
                raise ConflictError(f"org {org_id} already lives in DC {existing.dc}")
            return existing
        org = self._orgs[org_id] = Org(org_id, dc, edition, tz, clock=self.clock, users=users)
        return org

    def move_org(self, org_id: str, dc: str) -> int:
        """Move an org's data to another DC; returns the access tokens that stopped working."""
        org = self.org(org_id)
        if not is_data_centre(dc):
            raise InvalidRequestError(f"unknown data centre {dc!r}")
        org.dc = dc
        return self.oauth.move_org(org_id, dc)

    def set_edition(self, org_id: str, edition: str) -> Org:
        if edition not in EDITIONS:
            raise InvalidRequestError(f"edition must be one of {', '.join(EDITIONS)}")
        org = self.org(org_id)
        org.edition = edition
        return org

    def org(self, org_id: str) -> Org:
        try:
            return self._orgs[org_id]
        except KeyError:
            raise OrgNotFoundError(org_id) from None

    def orgs(self) -> list[Org]:
        return [self._orgs[key] for key in sorted(self._orgs)]

    def mint_grant_code(
        self,
        org_id: str,
        client_id: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        *,
        offline: bool = True,
    ) -> GrantCode:
        org = self.org(org_id)
        if not self.oauth.has_client(client_id):
            raise ClientNotFoundError(client_id)
        return self.oauth.mint_code(client_id, org.org_id, org.dc, scopes, offline=offline)

    def stats(self, org_id: str) -> dict[str, object]:
        org = self.org(org_id)
        return {
            "org_id": org.org_id,
            "dc": org.dc,
            "calls": {"total": sum(org.stats.calls.values()), "by_module": dict(org.stats.calls)},
            "records_written": dict(org.stats.records_written),
            "records": {name: len(store) for name, store in org.stores.items()},
            "token_refreshes": self.oauth.refresh_counts[org_id],
            "refreshes_throttled": self.oauth.throttled_counts[org_id],
            "live_access_tokens": self.oauth.live_tokens(org_id),
            "faulted_calls": org.stats.faulted_calls,
            "workflow_runs": org.stats.workflow_runs,
            "limits": org.limits.describe(),
        }
