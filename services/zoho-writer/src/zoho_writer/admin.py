"""The writer's declared interface for operators' tools (mlc_ops): what Zoho told it about a
tenant (credits, holds), its cached access token, and the token column key rotation re-seals.
Nothing outside this service imports its other modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from mlc_core.crypto import KeyRing
from mlc_core.zoho.oauth import access_token_context

from zoho_writer import replicas
from zoho_writer.tokens import TokenProvider

__all__ = [
    "TOKEN_COLUMN",
    "CachedToken",
    "SealedColumn",
    "StoredCredits",
    "TokenProvider",
    "ZohoHold",
    "cached_token",
    "forget_tenant",
    "forget_token",
    "live_replicas",
    "recent_credits",
    "zoho_holds",
]


@dataclass(frozen=True)
class SealedColumn:
    """A column of ciphertexts, and the associated data of the row with a given key."""

    table: str
    key_column: str
    column: str
    context: Callable[[str], str]


# Key rotation re-encrypts this column in place (mlc_ops.keys).
TOKEN_COLUMN = SealedColumn("zoho_tokens", "tenant_id", "access_token", access_token_context)


@dataclass(frozen=True)
class StoredCredits:
    remaining: int
    seen_at: datetime


@dataclass(frozen=True)
class ZohoHold:
    """Why the writer holds a tenant's records now: Zoho access refused (reconnect_since; only
    `mlc zoho connect` helps), a pause after a 429 or a spent credit budget (ends by itself),
    or a fault of the tenant's own (Zoho down or too slow, a malformed answer, an error in
    its share of a batch: `pause_detail` says which; the circuit stays open after the pause
    until a drain pass writes its parked commands again). `parked`: commands waiting."""

    tenant_id: str
    reconnect_since: datetime | None
    reconnect_error: str | None
    paused_until: datetime | None
    pause_reason: str | None
    pause_detail: str | None = None
    circuit_open: bool = False
    parked: int = 0


@dataclass(frozen=True)
class CachedToken:
    value: str
    api_domain: str
    expires_at: datetime


async def recent_credits(
    pool: asyncpg.Pool, *, tenant_id: str, within_minutes: int = 60
) -> StoredCredits | None:
    """The credits Zoho last reported to the writer, if it did within `within_minutes`."""
    row = await pool.fetchrow(
        "SELECT credits_remaining, credits_seen_at FROM writer_tenant_state"
        " WHERE tenant_id = $1 AND credits_remaining IS NOT NULL"
        " AND credits_seen_at > now() - make_interval(mins => $2)",
        tenant_id,
        within_minutes,
    )
    return None if row is None else StoredCredits(row["credits_remaining"], row["credits_seen_at"])


async def zoho_holds(pool: asyncpg.Pool, *, tenant_id: str | None) -> list[ZohoHold]:
    rows = await pool.fetch(
        "SELECT s.tenant_id, reconnect_since, reconnect_error, paused_until, pause_reason,"
        " pause_detail, circuit_open,"
        " (SELECT count(*) FROM writer_parked p WHERE p.tenant_id = s.tenant_id) AS parked"
        " FROM writer_tenant_state s WHERE ($1::text IS NULL OR s.tenant_id = $1)"
        " AND (reconnect_since IS NOT NULL OR paused_until > now() OR circuit_open)"
        " ORDER BY s.tenant_id",
        tenant_id,
    )
    return [ZohoHold(**dict(r)) for r in rows]


# What the writer keeps per tenant id; none of it may outlive the tenant (a reused id is
# another org: its versions would skip writes, its parked commands write old data).
FORGET_TENANT = (
    "DELETE FROM writer_parked WHERE tenant_id = $1",
    "DELETE FROM writer_tenant_state WHERE tenant_id = $1",
    "DELETE FROM writer_module_blocks WHERE tenant_id = $1",
    "DELETE FROM writer_versions WHERE tenant_id = $1",
    "DELETE FROM zoho_tokens WHERE tenant_id = $1",
)


async def forget_tenant(pool: asyncpg.Pool, *, tenant_id: str) -> None:
    """Delete everything the writer keeps for `tenant_id` (`mlc tenant remove`, and `mlc
    tenant add`, so a reused id starts clean)."""
    async with pool.acquire() as conn, conn.transaction():
        for statement in FORGET_TENANT:
            await conn.execute(statement, tenant_id)


async def cached_token(
    pool: asyncpg.Pool, *, keyring: KeyRing, tenant_id: str
) -> CachedToken | None:
    """The writer's live access token (no refresh: that is the writer's to do), or None.
    Raises mlc_core.crypto.CryptoError when these keys cannot open it."""
    row = await pool.fetchrow(
        "SELECT access_token, api_domain, expires_at FROM zoho_tokens WHERE tenant_id = $1",
        tenant_id,
    )
    if row is None or row["expires_at"] <= datetime.now(UTC):
        return None
    value = keyring.decrypt(row["access_token"], aad=access_token_context(tenant_id)).decode()
    return CachedToken(value, row["api_domain"], row["expires_at"])


async def forget_token(pool: asyncpg.Pool, *, tenant_id: str) -> None:
    """Drop the cached access token (it belongs to a grant just replaced): the writer mints a
    new one from the tenant's refresh token on its next call."""
    await pool.execute("DELETE FROM zoho_tokens WHERE tenant_id = $1", tenant_id)


async def live_replicas(pool: asyncpg.Pool) -> int:
    """How many writer replicas share each org's Zoho concurrency now (zoho_writer/replicas.py)."""
    live: int = await pool.fetchval(
        "SELECT count(*) FROM writer_replicas WHERE seen_at > now() - make_interval(secs => $1)",
        replicas.ReplicaTiming().live_for_seconds,
    )
    return live
