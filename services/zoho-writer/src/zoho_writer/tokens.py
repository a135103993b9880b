"""One Zoho access token per tenant, shared by every writer replica.

The token lives encrypted in PostgreSQL. A refresh happens under a per-tenant advisory lock and
re-reads the row first (single flight): when ten replicas need a token at once, one refreshes and
nine reuse it. That keeps us far from Zoho's limits (15 live tokens per refresh token, 10
refreshes per 10 minutes), which otherwise evict tokens other replicas are still using.

The row also remembers when the last refreshes happened, and every replica together stays
within a budget below Zoho's 10 per 10 minutes (the rest is left for `mlc ping`): past it the
current token is used until it expires, and then the tenant pauses (ZohoTokenThrottled) rather
than have Zoho answer "Access Denied" for the rest of its window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import httpx
from mlc_core.crypto import KeyRing
from mlc_core.logging import ACCESS_TOKEN_TTL_S, register_secret
from mlc_core.tenants import Tenant
from mlc_core.zoho.errors import ZohoTokenThrottled
from mlc_core.zoho.oauth import TokenGrant, access_token_context, refresh_access_token

if TYPE_CHECKING:
    from mlc_core.db import Connection

# Refresh 5 minutes early (at 80% of the lifetime for short-lived tokens) so no call races the
# expiry, without refreshing so often that short lifetimes eat the refresh budget.
EARLY_REFRESH = timedelta(minutes=5)
# Zoho allows 10 refreshes per refresh token per 10 minutes; the writer keeps 2 for operators.
REFRESH_WINDOW = timedelta(minutes=10)
REFRESH_BUDGET = 8
# Longest wait for another replica's refresh of the same token (above its HTTP timeout).
LOCK_WAIT_S = 120


@dataclass(frozen=True)
class AccessToken:
    value: str
    api_domain: str


def refresh_moment(now: datetime, expires_in: float) -> datetime:
    lifetime = timedelta(seconds=expires_in)
    return now + max(lifetime - EARLY_REFRESH, lifetime * 0.8)


def recent(refreshes: list[datetime], now: datetime) -> list[datetime]:
    """The refreshes that still count against Zoho's 10-minute window."""
    return [at for at in refreshes if at > now - REFRESH_WINDOW]


class TokenProvider:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        keyring: KeyRing,
        http: httpx.AsyncClient,
        refresh_budget: int = REFRESH_BUDGET,
    ) -> None:
        self._pool, self._keyring, self._http = pool, keyring, http
        self._budget = refresh_budget

    def _aad(self, tenant_id: str) -> str:
        return access_token_context(tenant_id)

    async def token(self, tenant: Tenant) -> AccessToken:
        row = await self._pool.fetchrow(
            "SELECT * FROM zoho_tokens WHERE tenant_id = $1", tenant.tenant_id
        )
        if row is not None and row["refresh_at"] > datetime.now(UTC):
            return self._from_row(tenant.tenant_id, row)
        return await self._refresh(tenant, rejected=None)

    async def after_rejection(self, tenant: Tenant, rejected: AccessToken) -> AccessToken:
        """Zoho said 401 INVALID_TOKEN: refresh once, unless another replica already did."""
        return await self._refresh(tenant, rejected=rejected.value)

    async def _refresh(self, tenant: Tenant, *, rejected: str | None) -> AccessToken:
        async with self._pool.acquire() as conn, conn.transaction():
            # Waiting here is waiting for another replica's refresh, one HTTP call to the
            # accounts server: bounded by that call's timeout, not the pool's statement bound.
            await conn.execute(f"SET LOCAL statement_timeout = '{LOCK_WAIT_S}s'")
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"zoho-token:{tenant.tenant_id}"
            )
            row = await conn.fetchrow(
                "SELECT * FROM zoho_tokens WHERE tenant_id = $1", tenant.tenant_id
            )
            if row is not None and self._still_good(tenant.tenant_id, row, rejected):
                return self._from_row(tenant.tenant_id, row)
            done = recent(list(row["recent_refreshes"]) if row else [], datetime.now(UTC))
            if row is not None and len(done) >= self._budget:
                return self._within_budget(tenant.tenant_id, row, rejected, oldest=min(done))
            grant = await self._grant(tenant)
            await self._store(conn, tenant.tenant_id, grant, done)
            return AccessToken(grant.access_token, grant.api_domain)

    def _within_budget(
        self, tenant_id: str, row: asyncpg.Record, rejected: str | None, *, oldest: datetime
    ) -> AccessToken:
        """The budget is spent: the current token while Zoho still takes it, else wait."""
        if rejected is None and row["expires_at"] > datetime.now(UTC):
            return self._from_row(tenant_id, row)
        raise ZohoTokenThrottled(
            f"tenant {tenant_id}: {self._budget} Zoho token refreshes in 10 minutes already;"
            f" the next is possible after {(oldest + REFRESH_WINDOW).isoformat()}",
            code="REFRESH_BUDGET",
        )

    def _still_good(self, tenant_id: str, row: asyncpg.Record, rejected: str | None) -> bool:
        current = self._from_row(tenant_id, row)
        if rejected is not None:
            return current.value != rejected
        return bool(row["refresh_at"] > datetime.now(UTC))

    async def _grant(self, tenant: Tenant) -> TokenGrant:
        grant = await refresh_access_token(
            self._http,
            accounts_url=tenant.config.zoho.accounts_url,
            client_id=tenant.config.zoho.client_id,
            client_secret=tenant.secrets.zoho_client_secret.get_secret_value(),
            refresh_token=tenant.secrets.zoho_refresh_token.get_secret_value(),
        )
        register_secret(grant.access_token, ttl_seconds=ACCESS_TOKEN_TTL_S)
        return grant

    async def _store(
        self, conn: Connection, tenant_id: str, grant: TokenGrant, done: list[datetime]
    ) -> None:
        now = datetime.now(UTC)
        # api_domain comes with every token response: an org moved to another data centre is
        # followed on the next refresh.
        await conn.execute(
            "INSERT INTO zoho_tokens (tenant_id, access_token, api_domain, expires_at, refresh_at,"
            " recent_refreshes) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id) DO UPDATE"
            " SET access_token = EXCLUDED.access_token, api_domain = EXCLUDED.api_domain,"
            " expires_at = EXCLUDED.expires_at, refresh_at = EXCLUDED.refresh_at,"
            " recent_refreshes = EXCLUDED.recent_refreshes, refreshed_at = now()",
            tenant_id,
            self._keyring.encrypt(grant.access_token.encode(), aad=self._aad(tenant_id)),
            grant.api_domain,
            now + timedelta(seconds=grant.expires_in),
            refresh_moment(now, grant.expires_in),
            [*done, now],
        )

    def _from_row(self, tenant_id: str, row: asyncpg.Record) -> AccessToken:
        value = self._keyring.decrypt(row["access_token"], aad=self._aad(tenant_id)).decode()
        register_secret(value, ttl_seconds=ACCESS_TOKEN_TTL_S)
        return AccessToken(value, row["api_domain"])
