"""The audit log for operators: one record's history (its trail), and what is failing now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from audit.admin import (
    ChainCheck,
    FailureGroup,
    RecordRef,
    TrailEntry,
    build_trail,
    failing_now,
    record_by_zoho_id,
    record_state,
    report,
    trail_rows,
    verify_chains,
)

from mlc_ops.errors import NotFound, Refused

__all__ = [
    "FailureGroup",
    "RecordRef",
    "Trail",
    "TrailEntry",
    "Verification",
    "failures",
    "trail",
    "verify",
]


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


@dataclass(frozen=True)
class Verification:
    """`verify`'s answer: every chain checked, events stored before chaining began, and event
    ids registered without an event (a pre-claimed id)."""

    intact: bool
    text: str
    chains: list[ChainCheck]
    unchained: int
    orphan_ids: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "chains": [c.as_json() for c in self.chains],
            "unchained": self.unchained,
            "orphan_ids": self.orphan_ids,
        }


async def verify(
    *,
    pool: asyncpg.Pool,
    tenant_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Verification:
    """Prove each tenant's hash chain intact over the range, or name its first broken link."""
    checks, unchained, orphans = await verify_chains(
        pool, tenant=tenant_id, since=since, until=until
    )
    intact, text = report(checks, unchained, orphans)
    return Verification(intact, text, checks, unchained, orphans)
