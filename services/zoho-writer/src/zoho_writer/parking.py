"""Commands kept in PostgreSQL while their tenant is paused or their parent record is missing.

Parking is what lets the consumer commit its Kafka offsets without failing anything: the
command is durable here first. A drain loop (any replica; one at a time per tenant, by advisory
lock) writes the due ones later, in the order they were parked.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from mlc_core.contracts import ZohoDeleteCommand, ZohoUpsertCommand
from mlc_core.db import took_session_state

from zoho_writer.service import Origin, WriteCommand

DRAIN_LOCK_PREFIX = "zoho-writer-drain:"


@dataclass(frozen=True)
class Parked:
    command: WriteCommand
    origin: Origin | None
    attempts: int


class ParkingStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def park(
        self,
        commands: list[WriteCommand],
        origins: dict[uuid.UUID, Origin],
        *,
        reason: str,
        delay_seconds: float,
    ) -> None:
        """Keep `commands`; a command parked again counts one more attempt."""
        rows = [_row(cmd, origins.get(cmd.event_id), reason, delay_seconds) for cmd in commands]
        await self._pool.executemany(
            "INSERT INTO writer_parked AS p (tenant_id, event_id, module, external_value,"
            " command, kafka_topic, kafka_partition, kafka_offset, reason, not_before)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))"
            " ON CONFLICT (event_id) DO UPDATE SET attempts = p.attempts + 1,"
            " reason = EXCLUDED.reason, not_before = EXCLUDED.not_before",
            rows,
        )

    async def due_tenants(self) -> list[str]:
        """Tenants with parked commands that are due, that are not paused and not disabled
        (a removed tenant's commands are drained: they fail TENANT_UNKNOWN)."""
        rows = await self._pool.fetch(
            "SELECT DISTINCT p.tenant_id FROM writer_parked p WHERE p.not_before <= now()"
            " AND NOT EXISTS (SELECT 1 FROM writer_tenant_state s"
            "   WHERE s.tenant_id = p.tenant_id AND s.paused_until > now())"
            " AND NOT EXISTS (SELECT 1 FROM tenants t"
            "   WHERE t.tenant_id = p.tenant_id AND NOT t.enabled)"
        )
        return [r["tenant_id"] for r in rows]

    async def take(self, tenant_id: str, *, limit: int) -> list[Parked]:
        rows = await self._pool.fetch(
            "SELECT command, kafka_topic, kafka_partition, kafka_offset, attempts"
            " FROM writer_parked WHERE tenant_id = $1 AND not_before <= now()"
            " ORDER BY id LIMIT $2",
            tenant_id,
            limit,
        )
        return [_parked(r) for r in rows]

    async def parked_records(
        self, tenant_id: str, records: list[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Which of these (module, external value) records have a command parked now."""
        rows = await self._pool.fetch(
            "SELECT DISTINCT p.module, p.external_value FROM writer_parked p"
            " JOIN unnest($2::text[], $3::text[]) AS r(module, external_value)"
            " USING (module, external_value) WHERE p.tenant_id = $1",
            tenant_id,
            [module for module, _ in records],
            [value for _, value in records],
        )
        return {(r["module"], r["external_value"]) for r in rows}

    async def release(self, event_ids: list[uuid.UUID]) -> None:
        """Forget commands that reached a final outcome (written, skipped or failed)."""
        await self._pool.execute("DELETE FROM writer_parked WHERE event_id = ANY($1)", event_ids)

    async def due_backlog(self, tenant_id: str, *, at_least: int) -> bool:
        """Whether `at_least` of the tenant's parked commands are due now (the drain is behind
        on it); counts no further than that, on the (tenant_id, not_before, id) index."""
        found: int = await self._pool.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM writer_parked WHERE tenant_id = $1"
            " AND not_before <= now() LIMIT $2) AS due",
            tenant_id,
            at_least,
        )
        return found >= at_least

    async def count(self, tenant_id: str) -> int:
        total: int = await self._pool.fetchval(
            "SELECT count(*) FROM writer_parked WHERE tenant_id = $1", tenant_id
        )
        return total

    @asynccontextmanager
    async def drain_lock(self, tenant_id: str) -> AsyncIterator[bool]:
        """True when this replica may drain the tenant now (session lock, never waits)."""
        async with self._pool.acquire() as conn:
            key = DRAIN_LOCK_PREFIX + tenant_id
            took_session_state(conn)  # released in full even if the unlock below never runs
            got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key)
            try:
                yield bool(got)
            finally:
                if got:
                    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", key)


def _row(cmd: WriteCommand, origin: Origin | None, reason: str, delay: float) -> tuple[object, ...]:
    return (
        cmd.tenant_id,
        cmd.event_id,
        cmd.module,
        cmd.external_value,
        cmd.model_dump(mode="json"),
        origin.topic if origin else None,
        origin.partition if origin else None,
        origin.offset if origin else None,
        reason,
        delay,
    )


def _parked(row: asyncpg.Record) -> Parked:
    raw = row["command"]
    body = json.loads(raw) if isinstance(raw, str) else raw
    command: WriteCommand
    if body.get("event_type") == "zoho.delete.requested":  # deletes are parked like upserts
        command = ZohoDeleteCommand.model_validate(body)
    else:
        command = ZohoUpsertCommand.model_validate(body)
    origin = None
    if row["kafka_topic"] is not None:
        origin = Origin(row["kafka_topic"], row["kafka_partition"], row["kafka_offset"])
    return Parked(command, origin, row["attempts"])
