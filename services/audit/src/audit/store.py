"""Append-only audit storage: one row per event id, whatever the number of deliveries."""

from __future__ import annotations

import asyncpg

from audit.service import AuditRow

INSERT = (
    "INSERT INTO audit_events (event_id, event_type, schema_version, tenant_id, entity,"
    " source_key, correlation_id, causation_id, occurred_at, topic, kafka_partition,"
    " kafka_offset, payload)"
    " SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[],"
    " $6::text[], $7::uuid[], $8::uuid[], $9::timestamptz[], $10::text[], $11::int[],"
    " $12::bigint[], $13::jsonb[])"
    " ON CONFLICT (event_id) DO NOTHING"
)


async def store_rows(pool: asyncpg.Pool, rows: list[AuditRow]) -> int:
    """Insert in one statement (one round trip per batch); returns rows new to the log."""
    columns = list(zip(*(row.as_tuple() for row in rows), strict=True))
    status: str = await pool.execute(INSERT, *columns)
    return int(status.rsplit(" ", 1)[-1])
