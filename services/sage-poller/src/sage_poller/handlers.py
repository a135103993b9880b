"""One poll of one tenant's entity: page through the change feed, emit, then move the watermark.

The order is what makes the watermark safe: events are acknowledged by Kafka (acks=all) before
the page's versions and watermark are committed in PostgreSQL. A crash in between re-emits the
page on the next poll; the events carry deterministic ids, so downstream sees duplicates only as
redeliveries of the same event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from mlc_core.contracts import DeadLetter, Entity
from mlc_core.kafka import Publisher
from mlc_core.logging import ctx
from mlc_core.sage.agent import SageAgentClient
from mlc_core.tenants import Tenant

from sage_poller.service import PollContext, candidate_keys, plan_page
from sage_poller.store import PollerStore

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
    page_size: int = 500,
) -> PollResult:
    poll = PollContext(
        tenant_id=tenant.tenant_id,
        entity=entity,
        company_code=tenant.config.sage.company_code,
        time_zone=ZoneInfo(tenant.config.sage.time_zone),
    )
    watermark = await store.watermark(tenant.tenant_id, entity)
    # The overlap re-reads recent stamps: rows committed late in Sage, or sharing the last stamp.
    since = watermark.minus(overlap_seconds) if watermark else None
    result, cursor = PollResult(), None
    while True:
        page = await agent.changes(
            company=poll.company_code,
            entity=entity,
            since=(since.date, since.hours) if since else None,
            cursor=cursor,
            limit=page_size,
        )
        await _handle_page(page.records, poll=poll, store=store, publisher=publisher, result=result)
        cursor = page.next_cursor
        if not cursor:
            break
    log.info("poll done", extra=ctx(tenant=tenant.tenant_id, entity=entity, **vars(result)))
    return result


async def _handle_page(
    records: list[dict[str, object]],
    *,
    poll: PollContext,
    store: PollerStore,
    publisher: Publisher,
    result: PollResult,
) -> None:
    known = await store.known(poll.tenant_id, poll.entity, candidate_keys(records, poll.entity))
    plan = plan_page(records, known=known, poll=poll)
    await publisher.publish_all(plan.events)
    await store.commit_page(poll.tenant_id, poll.entity, plan.versions, plan.newest)
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
