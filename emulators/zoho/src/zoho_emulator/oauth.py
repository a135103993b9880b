"""Zoho Accounts OAuth state: clients, grant codes, refresh and access tokens.

Reproduces zoho-crm.md §1.4/§1.5/§7: errors as bodies (the HTTP layer sends them
with status 200), single-use grant codes, tokens bound to one DC, at most 15
live access tokens per refresh token (the 16th evicts the oldest), at most 10
refreshes per refresh token per 10 minutes, revoke cascading to access tokens.
"""

from __future__ import annotations

import secrets
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from zoho_emulator.clock import Clock

THROTTLE_BODY = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


class TokenEndpointError(Exception):
    """A token endpoint failure; `body` is sent as is (HTTP 200)."""

    def __init__(self, body: Mapping[str, str]) -> None:
        super().__init__(body.get("error", "error"))
        self.body = dict(body)


class InvalidTokenError(Exception):
    """Access token unknown, expired, evicted, revoked or from another DC."""


def _fail(error: str) -> TokenEndpointError:
    return TokenEndpointError({"error": error})


def new_token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str | None = None
    dcs: frozenset[str] | None = None  # None: multi-DC enabled for every DC

    def serves(self, dc: str) -> bool:
        return self.dcs is None or dc in self.dcs


@dataclass
class GrantCode:
    code: str
    client_id: str
    org_id: str
    dc: str
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False
    offline: bool = True  # access_type=offline: the exchange also issues a refresh token


@dataclass
class AccessToken:
    token: str
    refresh_token: str
    org_id: str
    dc: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class RefreshToken:
    token: str
    client_id: str
    org_id: str
    dc: str  # the accounts server it was issued by, where it must be refreshed
    scopes: tuple[str, ...]
    api_dc: str = ""  # where the org's data lives now (changes when the org moves)
    live: deque[str] = field(default_factory=deque)
    refreshes: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    api_dc: str
    refresh_token: str | None = None


class OAuthServer:
    def __init__(
        self,
        clock: Clock,
        *,
        token_ttl: int = 3600,
        code_ttl: int = 180,
        max_live_tokens: int = 15,
        refresh_limit: int = 10,
        refresh_window: float = 600.0,
    ) -> None:
        self._clock = clock
        self.token_ttl = token_ttl
        self.code_ttl = code_ttl
        self._max_live = max_live_tokens
        self._refresh_limit = refresh_limit
        self._refresh_window = refresh_window
        self._clients: dict[str, Client] = {}
        self._codes: dict[str, GrantCode] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}
        self._access_tokens: dict[str, AccessToken] = {}
        self.refresh_counts: Counter[str] = Counter()
        self.throttled_counts: Counter[str] = Counter()

    # -- set-up ---------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        dcs: Iterable[str] | None = None,
    ) -> Client:
        client = Client(client_id, client_secret, redirect_uri, frozenset(dcs) if dcs else None)
        self._clients[client_id] = client
        return client

    def has_client(self, client_id: str) -> bool:
        return client_id in self._clients

    def client(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    def mint_code(
        self,
        client_id: str,
        org_id: str,
        dc: str,
        scopes: Iterable[str],
        *,
        offline: bool = True,
    ) -> GrantCode:
        """A single-use grant code, as the self-client console or a consent hands out."""
        if client_id not in self._clients:
            raise KeyError(client_id)
        expires = self._clock.now() + self.code_ttl
        code = GrantCode(
            new_token(), client_id, org_id, dc, tuple(scopes), expires, offline=offline
        )
        self._codes[code.code] = code
        return code

    # -- token endpoint ---------------------------------------------------------

    def exchange_code(self, dc: str, params: Mapping[str, str]) -> IssuedTokens:
        client = self._client(dc, params)
        grant = self._codes.get(params.get("code", ""))
        if (
            grant is None
            or grant.used
            or grant.dc != dc
            or grant.client_id != client.client_id
            or grant.expires_at <= self._clock.now()
        ):
            raise _fail("invalid_code")
        redirect_uri = params.get("redirect_uri")
        if client.redirect_uri and redirect_uri and redirect_uri != client.redirect_uri:
            raise _fail("invalid_redirect_uri")
        grant.used = True
        refresh = RefreshToken(
            new_token(), client.client_id, grant.org_id, dc, grant.scopes, api_dc=grant.dc
        )
        self._refresh_tokens[refresh.token] = refresh
        access = self._mint_access(refresh)
        # Without access_type=offline Zoho issues no refresh token (zoho-crm.md §6.1, 2).
        kept = refresh.token if grant.offline else None
        return IssuedTokens(access.token, self.token_ttl, refresh.api_dc, kept)

    def refresh(self, dc: str, params: Mapping[str, str]) -> IssuedTokens:
        client = self._client(dc, params)
        refresh = self._refresh_tokens.get(params.get("refresh_token", ""))
        if refresh is None or refresh.dc != dc or refresh.client_id != client.client_id:
            raise _fail("invalid_code")
        self._throttle(refresh)
        self.refresh_counts[refresh.org_id] += 1
        return IssuedTokens(self._mint_access(refresh).token, self.token_ttl, refresh.api_dc)

    def revoke(self, dc: str, token: str) -> bool:
        """Revoke a refresh token and every access token minted from it."""
        refresh = self._refresh_tokens.get(token)
        if refresh is None or refresh.dc != dc:
            return False
        del self._refresh_tokens[token]
        for access in refresh.live:
            self._access_tokens.pop(access, None)
        return True

    def move_org(self, org_id: str, api_dc: str) -> int:
        """The org's data moved: new tokens carry the new API domain, old ones stop working.

        Refresh tokens stay valid at the accounts server that issued them.  Returns the
        number of access tokens dropped.
        """
        for refresh in self._refresh_tokens.values():
            if refresh.org_id == org_id:
                refresh.api_dc = api_dc
        return self.expire_org_tokens(org_id)

    def expire_org_tokens(self, org_id: str) -> int:
        """A token-expiry storm: every access token of the org becomes INVALID_TOKEN."""
        doomed = [t for t, a in self._access_tokens.items() if a.org_id == org_id]
        for token in doomed:
            self._access_tokens[token].expires_at = 0.0
        return len(doomed)

    # -- API side -----------------------------------------------------------------

    def authenticate(self, dc: str, token: str) -> AccessToken:
        access = self._access_tokens.get(token)
        if access is None or access.dc != dc or access.expires_at <= self._clock.now():
            raise InvalidTokenError(token)
        return access

    def org_of(self, token: str) -> str | None:
        """Org of an access token, whatever its state (used to route faults)."""
        access = self._access_tokens.get(token)
        return access.org_id if access is not None else None

    def live_tokens(self, org_id: str) -> int:
        now = self._clock.now()
        return sum(
            1 for t in self._access_tokens.values() if t.org_id == org_id and t.expires_at > now
        )

    # -- helpers --------------------------------------------------------------------

    def _client(self, dc: str, params: Mapping[str, str]) -> Client:
        client = self._clients.get(params.get("client_id", ""))
        if client is None or not client.serves(dc):
            raise _fail("invalid_client")
        if not secrets.compare_digest(params.get("client_secret", ""), client.client_secret):
            raise _fail("invalid_client_secret")
        return client

    def _throttle(self, refresh: RefreshToken) -> None:
        """Counts refreshes only; the access token of the code exchange is free."""
        now = self._clock.now()
        while refresh.refreshes and refresh.refreshes[0] <= now - self._refresh_window:
            refresh.refreshes.popleft()
        if len(refresh.refreshes) >= self._refresh_limit:
            self.throttled_counts[refresh.org_id] += 1
            raise TokenEndpointError(THROTTLE_BODY)
        refresh.refreshes.append(now)

    def _mint_access(self, refresh: RefreshToken) -> AccessToken:
        now = self._clock.now()
        live = [t for t in refresh.live if self._is_live(t, now)]
        for dead in set(refresh.live) - set(live):
            self._access_tokens.pop(dead, None)
        refresh.live = deque(live)
        while len(refresh.live) >= self._max_live:
            self._access_tokens.pop(refresh.live.popleft(), None)
        access = AccessToken(
            new_token(),
            refresh.token,
            refresh.org_id,
            refresh.api_dc,
            refresh.scopes,
            now + self.token_ttl,
        )
        self._access_tokens[access.token] = access
        refresh.live.append(access.token)
        return access

    def _is_live(self, token: str, now: float) -> bool:
        access = self._access_tokens.get(token)
        return access is not None and access.expires_at > now


def scope_allows(
    scopes: Iterable[str], module: str, operation: str, *, custom: bool = False
) -> bool:
    """Whether `scopes` cover `operation` (READ, CREATE, UPDATE) on `module`.

    Accepts ZohoCRM.modules.ALL, ZohoCRM.modules.{module}.ALL and
    ZohoCRM.modules.{module}.{operation}; WRITE covers CREATE and UPDATE.
    Module names in scopes are lower case without underscores, `custom` for every custom
    module (§1.6).
    """
    name = "custom" if custom else module.lower().replace("_", "")
    granted = {s.strip().lower() for s in scopes}
    ops = {operation.lower(), "all"} | ({"write"} if operation.upper() != "READ" else set())
    if "zohocrm.modules.all" in granted:
        return True
    return any(f"zohocrm.modules.{name}.{op}" in granted for op in ops)


def _granted(scopes: Iterable[str]) -> set[str]:
    return {s.strip().lower() for s in scopes}


def settings_scope_allows(scopes: Iterable[str], resource: str, operation: str) -> bool:
    """ZohoCRM.settings.ALL, or ZohoCRM.settings.{modules|fields}.{ALL|READ|CREATE|…} (§1.6)."""
    granted = _granted(scopes)
    ops = {operation.lower(), "all"}
    return "zohocrm.settings.all" in granted or any(
        f"zohocrm.settings.{resource}.{op}" in granted for op in ops
    )


def org_scope_allows(scopes: Iterable[str]) -> bool:
    return bool(_granted(scopes) & {"zohocrm.org.read", "zohocrm.org.all"})


def search_scope_allows(scopes: Iterable[str]) -> bool:
    """Search additionally needs ZohoSearch.securesearch.READ (§1.6, CRM-SEARCH7)."""
    granted = _granted(scopes)
    return bool(granted & {"zohosearch.securesearch.read", "zohosearch.securesearch.all"})
