"""One poll of one tenant's entity: page through the change feed, emit, then move the watermark.

The order is what makes the watermark safe: events are acknowledged by Kafka (acks=all) before
the page's versions and watermark are committed in PostgreSQL. A crash in between re-emits the
page on the next poll; the events carry deterministic ids, so downstream sees duplicates only as
redeliveries of the same event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mlc_core.contracts import DeadLetter, Entity, Topics
from mlc_core.kafka import Publisher
from mlc_core.logging import ctx
from mlc_core.sage.agent import SageAgentClient
from mlc_core.tenants import Tenant

from sage_poller.retry import Retrier
from sage_poller.service import (
    PollContext,
    candidate_keys,
    delete_event,
    plan_page,
    since_for,
)
from sage_poller.store import PollerStore
from sage_poller.validation import valid_source_key

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    seen: int = 0
    emitted: int = 0
    unchanged: int = 0
    invalid: int = 0


async def poll_entity(
    *,
    tenant: Tenant,
    entity: Entity,
    agent: SageAgentClient,
    store: PollerStore,
    publisher: Publisher,
    overlap_seconds: float,
    retrier: Retrier,
    page_size: int = 500,
) -> PollResult:
    poll = poll_context(tenant, entity)
    watermark = await store.watermark(tenant.tenant_id, entity)
    # The overlap re-reads recent stamps: rows committed late in Sage, or sharing the last stamp.
    now = datetime.now(UTC)
    since = since_for(watermark, overlap_seconds, poll.time_zone, now) if watermark else None
    result, cursor = PollResult(), None
    while True:
        page = await retrier.call(
            "changes",
            lambda c=cursor: agent.changes(  # type: ignore[misc]
                company=poll.company_code,
                entity=entity,
                since=(since.date, since.hours) if since else None,
                cursor=c,
                limit=page_size,
            ),
        )
        await _handle_page(page.records, poll=poll, store=store, publisher=publisher, result=result)
        cursor = page.next_cursor
        if not cursor:
            break
    log.info("poll done", extra=ctx(tenant=tenant.tenant_id, entity=entity, **vars(result)))
    return result


def poll_context(tenant: Tenant, entity: Entity) -> PollContext:
    return PollContext(
        tenant_id=tenant.tenant_id,
        entity=entity,
        company_code=tenant.config.sage.company_code,
        time_zone=ZoneInfo(tenant.config.sage.time_zone),
    )


@dataclass
class ReconcileResult:
    deleted: int = 0
    refreshed: int = 0


async def reconcile_entity(
    *,
    tenant: Tenant,
    entity: Entity,
    agent: SageAgentClient,
    store: PollerStore,
    publisher: Publisher,
    retrier: Retrier,
    page_size: int = 500,
) -> ReconcileResult:
    """Compare Sage's full key set (with content hashes) against what we emitted.

    Keys we emitted that Sage no longer has become delete events (deletes, and the old key of a
    renumbering). Keys Sage has that we never emitted, or whose content hash differs, were
    written without touching the stamps (a Visual Integrator import, a renumbering): those
    records are read again in full and planned like any change.
    """
    poll = poll_context(tenant, entity)
    in_sage = await retrier.call(
        "keys", lambda: agent.keys(company=poll.company_code, entity=entity)
    )
    known = await store.all_versions(tenant.tenant_id, entity)
    gone = sorted(set(known) - set(in_sage))
    if gone:
        await publisher.publish_all(
            [(Topics.SAGE_CHANGES, delete_event(k, known[k], poll)) for k in gone]
        )
        await store.forget(tenant.tenant_id, entity, gone)
    stale = {
        k
        for k, digest in in_sage.items()
        if (k not in known or known[k].digest.hex() != digest) and valid_source_key(k, entity)
    }
    result = ReconcileResult(deleted=len(gone))
    if stale:
        result.refreshed = await _refresh(stale, poll, agent, store, publisher, retrier, page_size)
    log.info("reconciled", extra=ctx(tenant=poll.tenant_id, entity=entity, **vars(result)))
    return result


async def _refresh(
    stale: set[str],
    poll: PollContext,
    agent: SageAgentClient,
    store: PollerStore,
    publisher: Publisher,
    retrier: Retrier,
    page_size: int,
) -> int:
    """Re-read the whole feed (no watermark) and plan only the stale keys."""
    cursor, result = None, PollResult()
    while True:
        page = await retrier.call(
            "changes",
            lambda c=cursor: agent.changes(  # type: ignore[misc]
                company=poll.company_code, entity=poll.entity, since=None, cursor=c, limit=page_size
            ),
        )
        wanted = [r for r in page.records if _key_or_none(r, poll.entity) in stale]
        if wanted:
            await _handle_page(
                wanted,
                poll=poll,
                store=store,
                publisher=publisher,
                result=result,
                move_watermark=False,
            )
        cursor = page.next_cursor
        if not cursor:
            return result.emitted


def _key_or_none(record: dict[str, Any], entity: Entity) -> str | None:
    keys = candidate_keys([record], entity)
    return keys[0] if keys else None


async def _handle_page(
    records: list[dict[str, object]],
    *,
    poll: PollContext,
    store: PollerStore,
    publisher: Publisher,
    result: PollResult,
    move_watermark: bool = True,
) -> None:
    known = await store.known(poll.tenant_id, poll.entity, candidate_keys(records, poll.entity))
    plan = plan_page(records, known=known, poll=poll)
    await publisher.publish_all(plan.events)
    newest = plan.newest if move_watermark else None
    await store.commit_page(poll.tenant_id, poll.entity, plan.versions, newest)
    letters = [event for topic, event in plan.events if isinstance(event, DeadLetter)]
    for letter in letters:
        log.error(
            letter.error_message,
            extra=ctx(
                tenant=poll.tenant_id, entity=poll.entity, key=letter.source_key, field=letter.field
            ),
        )
    invalid = len(letters)
    result.seen += len(records)
    result.emitted += len(plan.events) - invalid
    result.unchanged += plan.unchanged
    result.invalid += invalid
