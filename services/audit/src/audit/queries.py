"""Read side of the audit log: a record's trail, what is failing now, replay candidates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

RecordRef = tuple[str, str, str]  # (tenant, entity, Sage key)


async def trail_rows(pool: asyncpg.Pool, ref: RecordRef) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT * FROM audit_events WHERE tenant_id = $1 AND entity = $2 AND source_key = $3"
            " ORDER BY occurred_at NULLS FIRST, recorded_at, kafka_offset",
            *ref,
        )
    )


async def record_by_zoho_id(pool: asyncpg.Pool, tenant_id: str, zoho_id: str) -> RecordRef | None:
    row = await pool.fetchrow(
        "SELECT tenant_id, entity, source_key FROM audit_records"
        " WHERE tenant_id = $1 AND zoho_id = $2",
        tenant_id,
        zoho_id,
    )
    return None if row is None else (row["tenant_id"], row["entity"], row["source_key"])


async def record_state(pool: asyncpg.Pool, ref: RecordRef) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT * FROM audit_records WHERE tenant_id = $1 AND entity = $2 AND source_key = $3",
        *ref,
    )
    return None if row is None else dict(row)


@dataclass(frozen=True)
class FailureGroup:
    tenant_id: str
    entity: str
    reason: str
    records: int
    since: datetime | None
    latest: datetime | None
    sample_keys: list[str]
    sample_error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "entity": self.entity,
            "reason": self.reason,
            "records": self.records,
            "since": self.since.isoformat() if self.since else None,
            "latest": self.latest.isoformat() if self.latest else None,
            "sample_keys": self.sample_keys,
            "sample_error": self.sample_error,
        }


async def failing_now(pool: asyncpg.Pool, tenant_id: str | None = None) -> list[FailureGroup]:
    """Records whose last outcome is a failure, grouped by (tenant, entity, reason)."""
    rows = await pool.fetch(
        "SELECT tenant_id, entity, last_error_code AS reason, count(*) AS records,"
        " min(last_outcome_at) AS since, max(last_outcome_at) AS latest,"
        " (array_agg(source_key ORDER BY source_key))[1:5] AS sample_keys,"
        " (array_agg(last_error ORDER BY last_outcome_at DESC))[1] AS sample_error"
        " FROM audit_records WHERE last_outcome = 'failed' AND ($1::text IS NULL OR tenant_id = $1)"
        " GROUP BY tenant_id, entity, last_error_code ORDER BY count(*) DESC, tenant_id, entity",
        tenant_id,
    )
    return [FailureGroup(**{**dict(r), "reason": r["reason"] or "UNKNOWN"}) for r in rows]


@dataclass(frozen=True)
class ReplayFilter:
    tenant_id: str
    event_type: str  # sage.record.changed (raw) or zoho.upsert.requested (commands)
    entity: str | None = None
    source_key: str | None = None
    since: datetime | None = None
    failed_only: bool = False
    source_keys: tuple[str, ...] | None = None


async def replay_candidates(pool: asyncpg.Pool, where: ReplayFilter) -> list[asyncpg.Record]:
    """The newest stored event of each matching record (older versions would only be skipped
    by the writer's stale-version guard), in record order."""
    return list(
        await pool.fetch(
            "SELECT DISTINCT ON (e.entity, e.source_key) e.event_id, e.entity, e.source_key,"
            " e.payload FROM audit_events e"
            " WHERE e.tenant_id = $1 AND e.event_type = $2"
            " AND ($3::text IS NULL OR e.entity = $3) AND ($4::text IS NULL OR e.source_key = $4)"
            " AND ($5::timestamptz IS NULL OR e.occurred_at >= $5)"
            " AND ($7::text[] IS NULL OR e.source_key = ANY($7))"
            " AND (NOT $6 OR EXISTS (SELECT 1 FROM audit_records r WHERE r.tenant_id = e.tenant_id"
            " AND r.entity = e.entity AND r.source_key = e.source_key"
            " AND r.last_outcome = 'failed'))"
            " ORDER BY e.entity, e.source_key, e.payload->>'source_version' DESC,"
            " e.occurred_at DESC",
            where.tenant_id,
            where.event_type,
            where.entity,
            where.source_key,
            where.since,
            where.failed_only,
            list(where.source_keys) if where.source_keys is not None else None,
        )
    )
