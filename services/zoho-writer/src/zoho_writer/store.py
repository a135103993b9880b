"""The writer's memory of what Zoho already has: newest applied source version per record."""

from __future__ import annotations

import asyncpg
from mlc_core.contracts import OutcomeStatus, ZohoWriteOutcome


class WriterStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def applied(
        self, tenant_id: str, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        rows = await self._pool.fetch(
            "SELECT module, external_value, source_version FROM writer_versions"
            " WHERE tenant_id = $1 AND (module, external_value) IN"
            " (SELECT * FROM unnest($2::text[], $3::text[]))",
            tenant_id,
            [module for module, _ in keys],
            [value for _, value in keys],
        )
        return {(r["module"], r["external_value"]): r["source_version"] for r in rows}

    async def record_applied(self, outcomes: list[ZohoWriteOutcome]) -> None:
        done = [o for o in outcomes if o.status is OutcomeStatus.SUCCEEDED]
        # The WHERE keeps the newest version if an older write lands late (replay racing live).
        await self._pool.executemany(
            "INSERT INTO writer_versions AS w"
            " (tenant_id, module, external_value, source_version, zoho_id)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, module, external_value)"
            " DO UPDATE SET source_version = EXCLUDED.source_version,"
            " zoho_id = EXCLUDED.zoho_id, written_at = now()"
            " WHERE w.source_version <= EXCLUDED.source_version",
            [(o.tenant_id, o.module, o.external_value, o.source_version, o.zoho_id) for o in done],
        )
