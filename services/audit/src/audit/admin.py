"""The audit service's declared interface for operators' tools (mlc_ops): what they may read of
the audit log and its per-record projection. Nothing outside this service imports its other
modules; the SQL stays here and in queries.py."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from audit.queries import (
    FailureGroup,
    RecordRef,
    ReplayFilter,
    failing_now,
    record_by_zoho_id,
    record_state,
    replay_candidates,
    trail_rows,
)
from audit.trail import TrailEntry, build_trail

__all__ = [
    "FailureGroup",
    "OutcomeCounts",
    "RecordRef",
    "ReplayFilter",
    "TrailEntry",
    "build_trail",
    "failing_now",
    "outcome_counts",
    "record_by_zoho_id",
    "record_state",
    "replay_candidates",
    "trail_rows",
    "waiting_counts",
]


@dataclass(frozen=True)
class OutcomeCounts:
    tenant_id: str
    entity: str
    written: int
    failed: int


async def outcome_counts(
    pool: asyncpg.Pool, *, tenant_id: str | None, hours: int = 24
) -> list[OutcomeCounts]:
    """Zoho write outcomes per tenant and entity over the last `hours`."""
    rows = await pool.fetch(
        "SELECT tenant_id, entity,"
        " count(*) FILTER (WHERE payload->>'status' = 'succeeded') AS written,"
        " count(*) FILTER (WHERE payload->>'status' = 'failed') AS failed"
        " FROM audit_events"
        " WHERE event_type = 'zoho.write.outcome'"
        " AND occurred_at > now() - make_interval(hours => $2)"
        " AND ($1::text IS NULL OR tenant_id = $1)"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        tenant_id,
        hours,
    )
    return [OutcomeCounts(r["tenant_id"], r["entity"], r["written"], r["failed"]) for r in rows]


async def waiting_counts(
    pool: asyncpg.Pool, *, tenant_id: str | None
) -> dict[tuple[str, str], int]:
    """Per (tenant, entity), records whose newest change has no final answer from Zoho yet (in
    flight, or kept by the writer while the tenant is paused or a parent record is missing)."""
    rows = await pool.fetch(
        "SELECT tenant_id, entity,"
        " count(*) FILTER (WHERE last_outcome IS NULL OR last_outcome = 'deferred') AS waiting"
        " FROM audit_records WHERE $1::text IS NULL OR tenant_id = $1 GROUP BY 1, 2",
        tenant_id,
    )
    return {(r["tenant_id"], r["entity"]): r["waiting"] for r in rows}
