"""Append-only audit storage: one row per event id, whatever the number of deliveries.

Each batch is one transaction: make sure this month's partition exists, register the new
event ids and insert those events (one statement), then fold them into the per-record
projection (one statement). The projection therefore never counts an event twice and never
runs ahead of or behind the log.
"""

from __future__ import annotations

import asyncpg

from audit.projection import fold
from audit.service import AuditRow

INSERT = (
    "WITH batch AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[],"
    " $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::timestamptz[], $10::text[],"
    " $11::int[], $12::bigint[], $13::jsonb[]) AS b(event_id, event_type, schema_version,"
    " tenant_id, entity, source_key, correlation_id, causation_id, occurred_at, topic,"
    " kafka_partition, kafka_offset, payload)),"
    " fresh AS (INSERT INTO audit_event_ids (event_id, recorded_at)"
    " SELECT event_id, now() FROM batch ON CONFLICT (event_id) DO NOTHING RETURNING event_id)"
    " INSERT INTO audit_events (event_id, event_type, schema_version, tenant_id, entity,"
    " source_key, correlation_id, causation_id, occurred_at, topic, kafka_partition,"
    " kafka_offset, payload, recorded_at)"
    " SELECT batch.*, now() FROM batch JOIN fresh USING (event_id)"
    " RETURNING event_id"
)
PROJECT = (
    "INSERT INTO audit_records AS r (tenant_id, entity, source_key, module, zoho_id,"
    " source_version, last_outcome, last_outcome_at, failure_count, last_error_code,"
    " last_error, last_event_at)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::text[], $8::timestamptz[], $9::int[], $10::text[], $11::text[],"
    " $12::timestamptz[])"
    " ON CONFLICT (tenant_id, entity, source_key) DO UPDATE SET"
    " module = COALESCE(EXCLUDED.module, r.module),"
    " zoho_id = COALESCE(EXCLUDED.zoho_id, r.zoho_id),"
    " source_version = GREATEST(r.source_version, EXCLUDED.source_version),"
    # the outcome that occurred last wins, whichever partition's batch arrives first
    " last_outcome = CASE WHEN EXCLUDED.last_outcome IS NOT NULL AND (r.last_outcome_at IS NULL"
    " OR EXCLUDED.last_outcome_at >= r.last_outcome_at) THEN EXCLUDED.last_outcome"
    " ELSE r.last_outcome END,"
    " last_outcome_at = GREATEST(r.last_outcome_at, EXCLUDED.last_outcome_at),"
    " failure_count = r.failure_count + EXCLUDED.failure_count,"
    " last_error_code = COALESCE(EXCLUDED.last_error_code, r.last_error_code),"
    " last_error = COALESCE(EXCLUDED.last_error, r.last_error),"
    " last_event_at = GREATEST(r.last_event_at, EXCLUDED.last_event_at),"
    " updated_at = now()"
)


def _unique(rows: list[AuditRow]) -> list[AuditRow]:
    # A producer retry can put one event twice into a batch; the first delivery is the one kept.
    seen: dict[object, AuditRow] = {}
    for row in rows:
        seen.setdefault(row.event_id, row)
    return list(seen.values())


async def store_rows(pool: asyncpg.Pool, rows: list[AuditRow]) -> int:
    """Store a batch and update the projection atomically; returns rows new to the log."""
    rows = _unique(rows)
    if not rows:
        return 0
    columns = list(zip(*(row.as_tuple() for row in rows), strict=True))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT audit_ensure_partitions(now())")
        new_ids = {r["event_id"] for r in await conn.fetch(INSERT, *columns)}
        deltas = fold(row for row in rows if row.event_id in new_ids)
        if deltas:
            await conn.execute(PROJECT, *zip(*(d.as_tuple() for d in deltas), strict=True))
    return len(new_ids)
