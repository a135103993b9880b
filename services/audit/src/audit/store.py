"""Append-only audit storage: one row per event id, whatever the number of deliveries.

Each batch is one transaction: make sure this month's partition exists, register the new
event ids, link them into their tenants' hash chains and insert them (one call of
audit_append), then fold them into the per-record projection (one statement). The projection
therefore never counts an event twice and never runs ahead of or behind the log.

verify_chains() reads the chains back for `mlc audit verify` (the checking is audit.chain).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

import asyncpg

from audit.chain import ChainCheck, Link
from audit.projection import fold
from audit.service import AuditRow

if TYPE_CHECKING:
    from mlc_core.db import Connection

# Registers the ids, links the new events into their tenants' hash chains and inserts them
# (migration 0009_audit_chain; the delivery's trace id beside, 0013); returns the ids new to
# the log.
APPEND = (
    "SELECT e FROM audit_append($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[],"
    " $6::text[], $7::uuid[], $8::uuid[], $9::timestamptz[], $10::text[], $11::int[],"
    " $12::bigint[], $13::jsonb[], $14::text[]) AS e"
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
        new_ids = {r["e"] for r in await conn.fetch(APPEND, *columns)}
        deltas = fold(row for row in rows if row.event_id in new_ids)
        if deltas:
            await conn.execute(PROJECT, *zip(*(d.as_tuple() for d in deltas), strict=True))
    return len(new_ids)


LINKS = (
    "SELECT chain_seq AS seq, event_id, recorded_at, prev_hash, hash,"
    " audit_event_digest(event_id, event_type, schema_version, tenant_id, entity, source_key,"
    " correlation_id, causation_id, occurred_at, recorded_at, topic, kafka_partition,"
    " kafka_offset, payload) AS digest"
    " FROM audit_events WHERE coalesce(tenant_id, '') = $1 AND chain_seq IS NOT NULL"
    " AND recorded_at >= $2 AND recorded_at < $3 ORDER BY chain_seq"
)
# The event just before the range: its hash is what the range's first event must point at.
BEFORE = (
    "SELECT chain_seq, hash FROM audit_events WHERE coalesce(tenant_id, '') = $1"
    " AND chain_seq IS NOT NULL AND recorded_at < $2 ORDER BY chain_seq DESC LIMIT 1"
)
UNCHAINED = (
    "SELECT count(*) FROM audit_events WHERE chain_seq IS NULL"
    " AND recorded_at >= $1 AND recorded_at < $2"
)
# Registered ids with no event: a pre-claimed id, or an event removed with its chain links.
ORPHANS = (
    "SELECT i.event_id FROM audit_event_ids i WHERE i.recorded_at >= $1 AND i.recorded_at < $2"
    " AND NOT EXISTS (SELECT 1 FROM audit_events e"
    " WHERE e.event_id = i.event_id AND e.recorded_at = i.recorded_at) LIMIT 10"
)
FAR_PAST = datetime.fromisoformat("0001-01-02T00:00:00+00:00")
FAR_FUTURE = datetime.fromisoformat("9999-12-31T00:00:00+00:00")


async def _links(
    conn: Connection, chain: str, since: datetime, until: datetime
) -> AsyncIterator[Link]:
    async for row in conn.cursor(LINKS, chain, since, until, prefetch=2000):
        yield Link(**dict(row))


async def verify_chain(
    conn: Connection,
    chain: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ChainCheck:
    """Check one chain ('' for events without a tenant) over recorded_at in [since, until);
    without `until` the last event must also be the chain's head. Run in a transaction."""
    start = since or FAR_PAST
    end = until or FAR_FUTURE
    check = ChainCheck(chain=chain)
    if since is None:
        check.expected_seq, check.expected_prev = 1, bytes(32)
    else:
        before = await conn.fetchrow(BEFORE, chain, start)
        check.expected_seq = before["chain_seq"] + 1 if before else 1
        check.expected_prev = before["hash"] if before else bytes(32)
    async for link in _links(conn, chain, start, end):
        check.feed(link)
    if until is None:
        head = await conn.fetchrow(
            "SELECT seq, hash FROM audit_chain_heads WHERE chain = $1", chain
        )
        if head is not None:
            check.end_at_head(head["seq"], head["hash"])
    return check


async def verify_chains(
    pool: asyncpg.Pool,
    *,
    tenant: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[ChainCheck], int, list[str]]:
    """Every chain (or one tenant's), the events stored before chaining began (unchained), and
    up to ten registered event ids that have no event."""
    start, end = since or FAR_PAST, until or FAR_FUTURE
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        if tenant is not None:
            chains = [tenant]
        else:
            chains = [
                r["chain"]
                for r in await conn.fetch("SELECT chain FROM audit_chain_heads ORDER BY chain")
            ]
        checks = [await verify_chain(conn, c, since=since, until=until) for c in chains]
        unchained = await conn.fetchval(UNCHAINED, start, end)
        orphans = [str(r["event_id"]) for r in await conn.fetch(ORPHANS, start, end)]
    return checks, unchained, orphans
