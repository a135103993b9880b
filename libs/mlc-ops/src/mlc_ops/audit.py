"""The audit log for operators: one record's history (its trail), and what is failing now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from audit.admin import (
    FailureGroup,
    RecordRef,
    TrailEntry,
    build_trail,
    failing_now,
    record_by_zoho_id,
    record_state,
    trail_rows,
)

from mlc_ops.errors import NotFound, Refused

__all__ = ["FailureGroup", "RecordRef", "Trail", "TrailEntry", "failures", "trail"]


@dataclass(frozen=True)
class Trail:
    ref: RecordRef  # (tenant, entity, Sage key)
    state: dict[str, Any] | None  # the audit projection's row: Zoho id, version, last outcome
    entries: list[TrailEntry]  # oldest first

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.ref[0],
            "entity": self.ref[1],
            "source_key": self.ref[2],
            "state": self.state,
            "events": [e.as_json() for e in self.entries],
        }


async def trail(
    *,
    pool: asyncpg.Pool,
    tenant_id: str,
    entity: str | None = None,
    key: str | None = None,
    zoho_id: str | None = None,
) -> Trail:
    """A record's trail, by entity and Sage key, or by its Zoho id."""
    ref = await _resolve(pool, tenant_id, entity, key, zoho_id)
    entries = build_trail([dict(r) for r in await trail_rows(pool, ref)])
    if not entries:
        raise NotFound(f"no audit events for tenant {ref[0]}, {ref[1]} {ref[2]}")
    return Trail(ref, await record_state(pool, ref), entries)


async def _resolve(
    pool: asyncpg.Pool, tenant_id: str, entity: str | None, key: str | None, zoho_id: str | None
) -> RecordRef:
    if zoho_id:
        ref = await record_by_zoho_id(pool, tenant_id, zoho_id)
        if ref is None:
            raise NotFound(f"tenant {tenant_id} has no record with Zoho id {zoho_id}")
        return ref
    if not (entity and key):
        raise Refused("give <entity> <key>, or --zoho-id")
    return (tenant_id, entity, key)


async def failures(*, pool: asyncpg.Pool, tenant_id: str | None = None) -> list[FailureGroup]:
    """Records failing now, grouped by tenant, entity and reason."""
    return await failing_now(pool, tenant_id)
