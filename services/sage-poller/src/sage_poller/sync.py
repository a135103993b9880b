"""`mlc sync` requests: poll now, full re-sync, or one AR key, picked up on the poller's tick.

The CLI inserts a row in `sync_requests`; the tenant's loop claims its pending rows each tick,
runs them, writes progress after every page (the CLI shows counts and rate) and marks them done
with counts, or failed with the error. A targeted key re-sync reads the record through SOAP
(GetCustomer, GetCustomerContact) when the tenant has eBusiness Web Services configured, which
is what Sage offers for reads by key, and through the agent otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

import asyncpg
from mlc_core.contracts import Entity, SageRecordChanged
from mlc_core.entities.sage import SAGE_TABLES
from mlc_core.sage.agent import SageAgentClient
from mlc_core.sage.soap import SageSoapClient
from mlc_core.tenants import Tenant

from sage_poller.handlers import PollResult, poll_context
from sage_poller.outbox import OutboxRelay, enqueue
from sage_poller.retry import Retrier
from sage_poller.service import PollContext, plan_page
from sage_poller.store import requested_columns

log = logging.getLogger(__name__)
Mode = Literal["poll", "full", "key"]
SOAP_ENTITIES = frozenset({Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT})
# A request left "running" this long belongs to a poller that died mid-request: run it again.
STALE_RUNNING = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class SyncRequest:
    request_id: int
    tenant_id: str
    entity: Entity
    mode: Mode
    source_key: str | None


class SyncStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, tenant_id: str) -> list[SyncRequest]:
        rows = await self._pool.fetch(
            "UPDATE sync_requests SET status = 'running', started_at = now()"
            " WHERE request_id IN (SELECT request_id FROM sync_requests WHERE tenant_id = $1"
            "  AND (status = 'pending' OR (status = 'running'"
            "  AND started_at < now() - $2::interval))"
            "  ORDER BY request_id FOR UPDATE SKIP LOCKED)"
            " RETURNING request_id, tenant_id, entity, mode, source_key",
            tenant_id,
            STALE_RUNNING,
        )
        found = [SyncRequest(**(dict(r) | {"entity": Entity(r["entity"])})) for r in rows]
        return sorted(found, key=lambda r: r.request_id)

    async def progress(self, request_id: int, result: PollResult) -> None:
        await self._pool.execute(
            "UPDATE sync_requests SET seen = $2, emitted = $3 WHERE request_id = $1",
            request_id,
            result.seen,
            result.emitted,
        )

    async def finish(self, request_id: int, result: PollResult, error: str | None) -> None:
        await self._pool.execute(
            "UPDATE sync_requests SET seen = $2, emitted = $3, error = $4,"
            " status = CASE WHEN $4::text IS NULL THEN 'done' ELSE 'failed' END,"
            " finished_at = now() WHERE request_id = $1",
            request_id,
            result.seen,
            result.emitted,
            error,
        )


@dataclass(frozen=True)
class KeySources:
    agent: SageAgentClient | None
    soap: SageSoapClient | None


async def resync_key(
    request: SyncRequest,
    *,
    tenant: Tenant,
    sources: KeySources,
    outbox: OutboxRelay,
    retrier: Retrier,
) -> PollResult:
    """One record, re-emitted whatever its hash. Versions are left alone: the regular poll's
    dedupe state describes what the agent returns, and a SOAP read may carry other columns."""
    key = str(request.source_key)
    include = await requested_columns(outbox.pool, tenant.tenant_id, request.entity)
    poll = replace(poll_context(tenant, request.entity), resync=request.request_id, include=include)
    record = await retrier.call("fetch", lambda: _read_key(request.entity, key, poll, sources))
    plan = plan_page([record], known={}, poll=poll)
    pool = outbox.pool
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, request.tenant_id, request.entity, plan.events)
    await outbox.drain(request.tenant_id)
    emitted = sum(1 for _, e in plan.events if isinstance(e, SageRecordChanged))
    return PollResult(seen=1, emitted=emitted, invalid=len(plan.events) - emitted)


async def _read_key(
    entity: Entity, key: str, poll: PollContext, sources: KeySources
) -> dict[str, Any]:
    if sources.soap is not None and entity in SOAP_ENTITIES:
        return await _read_by_soap(sources.soap, entity, key)
    if sources.agent is None:
        raise NoSourceForKey(
            f"tenant {poll.tenant_id}: {entity} {key} cannot be read: no agent configured, and"
            " SOAP offers only AR customers and contacts by key"
        )
    return await sources.agent.fetch(
        company=poll.company_code, entity=entity, source_key=key, include=poll.include
    )


async def _read_by_soap(soap: SageSoapClient, entity: Entity, key: str) -> dict[str, Any]:
    values = SAGE_TABLES[entity].key_values(key)
    division, customer = values["ARDivisionNo"], values["CustomerNo"]
    if entity is Entity.AR_CUSTOMER:
        return await soap.get_customer(division, customer)
    contact = await soap.get_customer_contact(division, customer, values["ContactCode"])
    # The flag the agent joins in (docs/sage-entities.md), from the customer's ContactCode.
    owner = await soap.get_customer(division, customer)
    code = str(owner.get("ContactCode") or "").rstrip()
    is_primary = code and code == str(contact.get("ContactCode") or "").rstrip()
    return contact | {"PrimaryContact": "Y" if is_primary else "N"}


class NoSourceForKey(Exception):
    """Neither the agent nor SOAP can read this entity by key for this tenant."""
