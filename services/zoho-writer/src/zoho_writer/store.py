"""What Zoho already has, as the writer last wrote it: version, id and content per record, and
the outcome of the command that wrote it (stored the moment Zoho answered, before anything
else can fail: a redelivered command republishes it instead of writing Zoho again)."""

from __future__ import annotations

import json
import uuid

import asyncpg
from mlc_core.contracts import OutcomeStatus, ZohoWriteOutcome

from zoho_writer.service import Applied

Key = tuple[str, str]  # (module, external value)


class WriterStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def applied(self, tenant_id: str, keys: list[Key]) -> dict[Key, Applied]:
        rows = await self._pool.fetch(
            "SELECT module, external_value, source_version, zoho_id, content_hash, event_id,"
            " outcome FROM writer_versions WHERE tenant_id = $1 AND (module, external_value) IN"
            " (SELECT * FROM unnest($2::text[], $3::text[]))",
            tenant_id,
            [module for module, _ in keys],
            [value for _, value in keys],
        )
        return {
            (r["module"], r["external_value"]): Applied(
                r["source_version"],
                r["zoho_id"],
                r["content_hash"],
                r["event_id"],
                _outcome(r["outcome"]),
            )
            for r in rows
        }

    async def move_key(self, tenant_id: str, module: str, old: str, new: str) -> None:
        """A renumbered record: what was applied under `old` is now under `new` (the stale
        guard follows the record); kept under `new` if something was written there already."""
        await self._pool.execute(
            "UPDATE writer_versions SET external_value = $4 WHERE tenant_id = $1"
            " AND module = $2 AND external_value = $3 AND NOT EXISTS (SELECT 1 FROM"
            " writer_versions n WHERE n.tenant_id = $1 AND n.module = $2"
            " AND n.external_value = $4)",
            tenant_id,
            module,
            old,
            new,
        )

    async def zoho_ids(self, tenant_id: str, keys: list[Key]) -> dict[Key, str]:
        """Zoho ids of records this writer has written (parents found without a Zoho call)."""
        return {key: a.zoho_id for key, a in (await self.applied(tenant_id, keys)).items()}

    async def record_applied(
        self, outcomes: list[ZohoWriteOutcome], hashes: dict[uuid.UUID, bytes]
    ) -> None:
        # A delete of a record Zoho never had succeeds without an id: nothing to remember.
        done = [o for o in outcomes if o.status is OutcomeStatus.SUCCEEDED and o.zoho_id]
        # The WHERE keeps the newest version if an older write lands late (replay racing live).
        await self._pool.executemany(
            "INSERT INTO writer_versions AS w"
            " (tenant_id, module, external_value, source_version, zoho_id, content_hash,"
            " event_id, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (tenant_id, module, external_value)"
            " DO UPDATE SET source_version = EXCLUDED.source_version,"
            " zoho_id = EXCLUDED.zoho_id, content_hash = EXCLUDED.content_hash,"
            " event_id = EXCLUDED.event_id, outcome = EXCLUDED.outcome, written_at = now()"
            " WHERE w.source_version <= EXCLUDED.source_version",
            [
                (
                    o.tenant_id,
                    o.module,
                    o.external_value,
                    o.source_version,
                    o.zoho_id,
                    hashes.get(o.causation_id) if o.causation_id else None,
                    o.causation_id,
                    o.model_dump(mode="json"),
                )
                for o in done
            ],
        )


def _outcome(raw: object) -> ZohoWriteOutcome | None:
    if raw is None:
        return None
    return ZohoWriteOutcome.model_validate_json(raw if isinstance(raw, str) else json.dumps(raw))


class ReplicaStore:
    """The live writer replicas (writer_replicas): each beats its row; PostgreSQL's clock
    judges every row, so replicas on machines with skewed clocks agree on who is live."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def beat(
        self, replica_id: str, *, settled_for: int, live_for_seconds: float
    ) -> tuple[int, int | None]:
        """Mark this replica seen now. Returns how many replicas are live (this one included)
        and the smallest `settled_for` among the other live ones (None when alone)."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO writer_replicas (replica_id, settled_for) VALUES ($1, $2)"
                " ON CONFLICT (replica_id)"
                " DO UPDATE SET seen_at = now(), settled_for = EXCLUDED.settled_for",
                replica_id,
                settled_for,
            )
            # Rows of replicas long gone (every restart adds one) go on the way.
            await conn.execute(
                "DELETE FROM writer_replicas WHERE seen_at < now() - make_interval(secs => $1)",
                live_for_seconds * FORGET_AFTER_BOUNDS,
            )
            (row,) = await conn.fetch(
                "SELECT count(*) AS live,"
                " min(settled_for) FILTER (WHERE replica_id <> $1) AS others_settled"
                " FROM writer_replicas WHERE seen_at > now() - make_interval(secs => $2)",
                replica_id,
                live_for_seconds,
            )
            return int(row["live"]), row["others_settled"]

    async def leave(self, replica_id: str) -> None:
        await self._pool.execute("DELETE FROM writer_replicas WHERE replica_id = $1", replica_id)


# A row unseen for this many live bounds is deleted (it stopped counting after one).
FORGET_AFTER_BOUNDS = 30
