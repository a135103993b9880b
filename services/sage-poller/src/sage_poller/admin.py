"""The poller's declared interface for operators' tools (mlc_ops): watermarks, poll health,
sync requests, and how a Sage row's key and version are read. Nothing outside this service
imports its other modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from sage_poller.service import KEY_FUNCTIONS, parse_stamp

__all__ = [
    "KEY_FUNCTIONS",
    "SYNC_FINAL",
    "PollHealth",
    "Watermark",
    "create_sync_request",
    "parse_stamp",
    "poll_health",
    "sync_request",
    "watermarks",
]

SYNC_MODES = ("poll", "full", "key")
SYNC_FINAL = ("done", "failed")


@dataclass(frozen=True)
class Watermark:
    tenant_id: str
    entity: str
    polled_at: datetime
    stamp_date: str  # Sage's DateUpdated of the newest record seen, as Sage wrote it
    stamp_hours: float


@dataclass(frozen=True)
class PollHealth:
    tenant_id: str
    entity: str
    consecutive_failures: int
    last_error: str | None
    # The last successful poll: how long it took, how much of that on Sage, how late it began.
    last_poll_seconds: float | None = None
    last_poll_sage_seconds: float | None = None
    last_poll_late_seconds: float | None = None


async def watermarks(pool: asyncpg.Pool, *, tenant_id: str | None) -> list[Watermark]:
    rows = await pool.fetch(
        "SELECT tenant_id, entity, polled_at, stamp_date, stamp_hours FROM poller_watermarks"
        " WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY 1, 2",
        tenant_id,
    )
    return [Watermark(**dict(r)) for r in rows]


async def poll_health(pool: asyncpg.Pool, *, tenant_id: str | None) -> list[PollHealth]:
    rows = await pool.fetch(
        "SELECT tenant_id, entity, consecutive_failures, last_error, last_poll_seconds,"
        " last_poll_sage_seconds, last_poll_late_seconds FROM poller_status"
        " WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY 1, 2",
        tenant_id,
    )
    return [PollHealth(**dict(r)) for r in rows]


async def create_sync_request(
    pool: asyncpg.Pool, *, tenant_id: str, entity: str, mode: str, source_key: str | None
) -> int:
    """Queue a request the tenant's poller loop claims on its next tick (see sync.py)."""
    if mode not in SYNC_MODES:
        raise ValueError(f"sync mode {mode!r} is not one of {', '.join(SYNC_MODES)}")
    request_id: int = await pool.fetchval(
        "INSERT INTO sync_requests (tenant_id, entity, mode, source_key)"
        " VALUES ($1, $2, $3, $4) RETURNING request_id",
        tenant_id,
        entity,
        mode,
        source_key,
    )
    return request_id


async def sync_request(pool: asyncpg.Pool, request_id: int) -> dict[str, Any]:
    """The request as the poller last wrote it (counts after every page), or {} if unknown."""
    row = await pool.fetchrow(
        "SELECT request_id, tenant_id, entity, mode, source_key, status, seen, emitted, error,"
        " requested_at, started_at, finished_at FROM sync_requests WHERE request_id = $1",
        request_id,
    )
    return dict(row) if row else {}
