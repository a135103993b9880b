"""The poller's durable state in PostgreSQL: watermarks, last emitted versions, the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import asyncpg
from mlc_core.contracts import Entity, Envelope
from mlc_core.entities.sage import requested_sensitive
from mlc_core.unsendable import DEFAULT_MAX_MESSAGE_BYTES

from sage_poller.outbox import Queued, enqueue
from sage_poller.schedule import PollTiming
from sage_poller.service import Known, Stamp

if TYPE_CHECKING:
    from mlc_core.db import Connection

# The versions of one page's keys: one primary-key lookup per key, whatever the plan. The plain
# `source_key = ANY($3)` form turns, once PostgreSQL switches a prepared statement to its
# generic plan (the sixth execution on a connection), into a scan of the tenant's whole entity
# with a linear search of the array per row: seconds per page at 100,000 records. The LIMIT
# keeps the subquery from being flattened into a join the planner could hash the same way.
KNOWN_SQL = (
    "SELECT v.source_key, v.source_version, v.content_hash"
    " FROM unnest($3::text[]) AS k(source_key),"
    " LATERAL (SELECT p.source_key, p.source_version, p.content_hash FROM poller_versions p"
    "  WHERE p.tenant_id = $1 AND p.entity = $2 AND p.source_key = k.source_key LIMIT 1) v"
)


async def requested_columns(pool: asyncpg.Pool, tenant_id: str, entity: Entity) -> frozenset[str]:
    """The sensitive columns of `entity` the tenant's mapping file asks the agent for."""
    spec = await pool.fetchval("SELECT spec FROM tenant_mappings WHERE tenant_id = $1", tenant_id)
    return requested_sensitive(spec, entity)


class PollerStore:
    def __init__(
        self, pool: asyncpg.Pool, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ) -> None:
        self._pool = pool
        self._limit = max_message_bytes  # an event bigger than this is queued as a dead letter

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def watermark(self, tenant_id: str, entity: str) -> Stamp | None:
        row = await self._pool.fetchrow(
            "SELECT stamp_date, stamp_hours FROM poller_watermarks"
            " WHERE tenant_id = $1 AND entity = $2",
            tenant_id,
            entity,
        )
        return Stamp(row["stamp_date"], row["stamp_hours"]) if row else None

    async def known(self, tenant_id: str, entity: str, keys: list[str]) -> dict[str, Known]:
        rows = await self._pool.fetch(KNOWN_SQL, tenant_id, entity, keys)
        return {r["source_key"]: Known(r["source_version"], r["content_hash"]) for r in rows}

    async def by_identity(
        self, tenant_id: str, entity: str, identities: list[bytes]
    ) -> dict[bytes, dict[str, Known]]:
        """Known records with these identity digests (renumbering candidates), per digest."""
        rows = await self._pool.fetch(
            # One index lookup per digest, as KNOWN_SQL does per key (and for the same reason).
            "SELECT v.* FROM unnest($3::bytea[]) AS i(identity_hash), LATERAL (SELECT"
            " p.source_key, p.source_version, p.content_hash, p.identity_hash"
            " FROM poller_versions p WHERE p.tenant_id = $1 AND p.entity = $2"
            " AND p.identity_hash = i.identity_hash LIMIT 2) v",
            tenant_id,
            entity,
            identities,
        )
        found: dict[bytes, dict[str, Known]] = {}
        for r in rows:
            known = Known(r["source_version"], r["content_hash"], r["identity_hash"])
            found.setdefault(r["identity_hash"], {})[r["source_key"]] = known
        return found

    async def all_versions(self, tenant_id: str, entity: str) -> dict[str, Known]:
        rows = await self._pool.fetch(
            "SELECT source_key, source_version, content_hash FROM poller_versions"
            " WHERE tenant_id = $1 AND entity = $2",
            tenant_id,
            entity,
        )
        return {r["source_key"]: Known(r["source_version"], r["content_hash"]) for r in rows}

    async def forget(
        self,
        tenant_id: str,
        entity: str,
        keys: list[str],
        events: Sequence[tuple[str, Envelope]] = (),
    ) -> None:
        """Deleted keys, with their delete events queued in the same transaction: a record
        re-created under one of them is new again."""
        async with self._pool.acquire() as conn, conn.transaction():
            await enqueue(conn, tenant_id, entity, events, limit=self._limit)
            await conn.execute(
                "DELETE FROM poller_versions WHERE tenant_id = $1 AND entity = $2"
                " AND source_key = ANY($3::text[])",
                tenant_id,
                entity,
                keys,
            )

    async def record_status(
        self,
        tenant_id: str,
        entity: str,
        *,
        ok: bool,
        error: str | None = None,
        timing: PollTiming | None = None,
    ) -> None:
        """Per tenant and entity: last success, last failure and its message, failures in a
        row, and a successful poll's timing (when it began, how long it took and how much of
        that on Sage, how late)."""
        started, seconds, late, on_sage = (
            (timing.started_at, timing.seconds, timing.late_seconds, timing.sage_seconds)
            if timing
            else (None,) * 4
        )
        await self._pool.execute(
            "INSERT INTO poller_status AS s (tenant_id, entity, last_success_at, last_failure_at,"
            " last_error, consecutive_failures, last_poll_started_at, last_poll_seconds,"
            " last_poll_late_seconds, last_poll_sage_seconds)"
            " VALUES ($1, $2, CASE WHEN $3 THEN now() END, CASE WHEN $3 THEN NULL ELSE now() END,"
            " $4, CASE WHEN $3 THEN 0 ELSE 1 END, $5, $6, $7, $8)"
            " ON CONFLICT (tenant_id, entity) DO UPDATE SET"
            " last_success_at = COALESCE(EXCLUDED.last_success_at, s.last_success_at),"
            " last_failure_at = COALESCE(EXCLUDED.last_failure_at, s.last_failure_at),"
            " last_error = CASE WHEN $3 THEN s.last_error ELSE EXCLUDED.last_error END,"
            " consecutive_failures = CASE WHEN $3 THEN 0 ELSE s.consecutive_failures + 1 END,"
            " last_poll_started_at = COALESCE($5, s.last_poll_started_at),"
            " last_poll_seconds = COALESCE($6, s.last_poll_seconds),"
            " last_poll_sage_seconds = COALESCE($8, s.last_poll_sage_seconds),"
            " last_poll_late_seconds = CASE WHEN $5 IS NULL THEN s.last_poll_late_seconds"
            " ELSE $7 END",
            tenant_id,
            entity,
            ok,
            error,
            started,
            seconds,
            late,
            on_sage,
        )

    async def commit_page(
        self,
        tenant_id: str,
        entity: str,
        versions: dict[str, Known],
        newest: Stamp | None,
        events: Sequence[tuple[str, Envelope]] = (),
    ) -> Queued:
        """Queue a page's events in the outbox, record their versions and move the watermark,
        in one transaction (the outbox relay publishes them afterwards)."""
        async with self._pool.acquire() as conn, conn.transaction():
            queued = await enqueue(conn, tenant_id, entity, events, limit=self._limit)
            # One statement for the whole page (unnest), not one round trip per record.
            await conn.execute(
                "INSERT INTO poller_versions AS v"
                " (tenant_id, entity, source_key, source_version, content_hash, identity_hash)"
                " SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bytea[], $6::bytea[])"
                " ON CONFLICT (tenant_id, entity, source_key)"
                " DO UPDATE SET source_version = EXCLUDED.source_version,"
                " content_hash = EXCLUDED.content_hash, identity_hash = EXCLUDED.identity_hash",
                tenant_id,
                entity,
                list(versions),
                [v.version for v in versions.values()],
                [v.digest for v in versions.values()],
                [v.identity for v in versions.values()],
            )
            if newest is not None:
                await _advance_watermark(conn, tenant_id, entity, newest)
        return queued


async def _advance_watermark(conn: Connection, tenant_id: str, entity: str, newest: Stamp) -> None:
    # GREATEST-style guard: a watermark never moves backwards, whatever order pages commit in.
    await conn.execute(
        "INSERT INTO poller_watermarks AS w (tenant_id, entity, stamp_date, stamp_hours)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, entity) DO UPDATE"
        " SET stamp_date = EXCLUDED.stamp_date, stamp_hours = EXCLUDED.stamp_hours,"
        " polled_at = now()"
        " WHERE (w.stamp_date, w.stamp_hours) <= (EXCLUDED.stamp_date, EXCLUDED.stamp_hours)",
        tenant_id,
        entity,
        newest.date,
        newest.hours,
    )
