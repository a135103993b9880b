"""Tenants' mapping files in PostgreSQL, and the mapper's short-lived cache of them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from mapper.mapfile import parse_map
from mapper.profile import DEFAULT_MAP, TenantMap

# A changed map reaches every mapper replica within this many seconds, while a busy mapper
# reads each tenant's map at most once per interval instead of once per batch.
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class StoredMap:
    tenant_id: str
    source_yaml: str
    revision: int


async def save_map(pool: asyncpg.Pool, tenant_id: str, source_yaml: str) -> int:
    """Validate and store a tenant's mapping file; returns its new revision.

    Raises MapFileError before anything is stored, so a bad map never reaches the mapper.
    """
    tenant_map = parse_map(source_yaml)
    revision: int = await pool.fetchval(
        "INSERT INTO tenant_mappings (tenant_id, source_yaml, spec) VALUES ($1, $2, $3)"
        " ON CONFLICT (tenant_id) DO UPDATE SET source_yaml = EXCLUDED.source_yaml,"
        " spec = EXCLUDED.spec, revision = tenant_mappings.revision + 1, updated_at = now()"
        " RETURNING revision",
        tenant_id,
        source_yaml,
        tenant_map.model_dump(mode="json"),
    )
    return revision


async def load_stored(pool: asyncpg.Pool, tenant_id: str) -> StoredMap | None:
    row = await pool.fetchrow(
        "SELECT source_yaml, revision FROM tenant_mappings WHERE tenant_id = $1", tenant_id
    )
    if row is None:
        return None
    return StoredMap(tenant_id, row["source_yaml"], row["revision"])


async def remove_map(pool: asyncpg.Pool, tenant_id: str) -> bool:
    status: str = await pool.execute("DELETE FROM tenant_mappings WHERE tenant_id = $1", tenant_id)
    return not status.endswith(" 0")


class MapCache:
    """Each tenant's map, re-read from PostgreSQL after CACHE_SECONDS; the default map for
    tenants without one. A database error propagates: the batch is retried, never mapped
    with the wrong map."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool, self._ttl, self._clock = pool, ttl, clock
        self._maps: dict[str, tuple[float, TenantMap]] = {}

    async def maps_for(self, tenant_ids: set[str]) -> dict[str, TenantMap]:
        now = self._clock()
        stale = [t for t in tenant_ids if t not in self._maps or self._maps[t][0] <= now]
        if stale:
            rows = await self._pool.fetch(
                "SELECT tenant_id, spec FROM tenant_mappings WHERE tenant_id = ANY($1::text[])",
                stale,
            )
            specs = {row["tenant_id"]: row["spec"] for row in rows}
            for tenant in stale:
                spec = specs.get(tenant)
                loaded = DEFAULT_MAP if spec is None else TenantMap.model_validate(spec)
                self._maps[tenant] = (now + self._ttl, loaded)
        return {tenant: self._maps[tenant][1] for tenant in tenant_ids}
