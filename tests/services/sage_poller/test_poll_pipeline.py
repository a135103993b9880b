"""The poll's throughput paths on the real PostgreSQL and Kafka: the versions lookup stays a key
lookup in PostgreSQL's generic plan, pages are published in the background one drain at a time
(in feed order, nothing lost when a drain fails), and the relay publishes the events it just
queued without decoding them, as the same bytes."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from mlc_core.contracts import Entity, Envelope, decode, encode
from mlc_core.kafka import Publisher
from sage_poller.outbox import OutboxRelay
from sage_poller.service import Known, Stamp
from sage_poller.store import KNOWN_SQL

from tests.services.sage_poller.sage_harness import Harness, RecordingPublisher, changes

pytestmark = pytest.mark.integration


class Crash(Exception):
    """Kafka refuses a batch."""


class FailingFrom(Publisher):
    """Publishes through `inner` until call number `fail_at`, which fails."""

    def __init__(self, inner: Publisher, fail_at: int) -> None:
        self._inner, self._fail_at, self.calls = inner, fail_at, 0

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        self.calls += 1
        if self.calls >= self._fail_at:
            raise Crash
        await self._inner.publish_all(items)


async def poll_pages(h: Harness, publisher: Publisher, page_size: int = 7) -> None:
    outbox = OutboxRelay(h.store.pool, publisher)
    await h.poll(Entity.AR_CUSTOMER, page_size=page_size, outbox=outbox)


def feed_order(h: Harness) -> list[str]:
    rows = h.side.state.company("ABC").table("AR_Customer").rows()
    stamped = [
        (r["DateUpdated"], float(r["TimeUpdated"]), f"{r['ARDivisionNo']}-{r['CustomerNo']}")
        for r in rows
    ]
    return [key for *_, key in sorted(stamped)]


async def test_known_versions_stay_key_lookups_in_the_generic_plan(harness: Harness) -> None:
    tenant_id, entity = harness.tenant.tenant_id, Entity.AR_CUSTOMER
    stored = {
        f"01-{n:07d}": Known(f"20261126 {n % 24:09.6f}", bytes([n % 256])) for n in range(300)
    }
    await harness.store.commit_page(tenant_id, entity, stored, None)
    wanted = [*list(stored)[::3], "01-MISSING", "01-0000003"]  # a gap and a repeated key
    expected = {k: stored[k] for k in wanted if k in stored}
    for _ in range(8):  # past the five custom plans after which a prepared statement goes generic
        assert await harness.store.known(tenant_id, entity, wanted) == expected
    async with harness.store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE known_generic (text, text, text[]) AS {KNOWN_SQL}")
        try:
            # EXPLAIN takes no bind parameters: literals (test-made, quote-free values).
            keys = ",".join(f"'{k}'" for k in wanted[:3])
            lines = await conn.fetch(
                f"EXPLAIN EXECUTE known_generic('{tenant_id}', '{entity}', ARRAY[{keys}])"
            )
        finally:
            await conn.execute("DEALLOCATE known_generic")
    plan = "\n".join(line[0] for line in lines)
    # One primary-key probe per key, never a scan of the tenant's entity filtered by the array.
    assert "Nested Loop" in plan and "source_key = k.source_key" in plan, plan
    assert "ANY" not in plan and "Filter" not in plan, plan


async def test_pages_go_out_in_feed_order_and_the_poll_ends_with_all_published(
    harness: Harness,
) -> None:
    tenant_id = harness.tenant.tenant_id
    await poll_pages(harness, harness.publisher, page_size=7)  # 30 customers: five pages
    sent = [e.source_key for e in changes(harness.take())]
    assert sent == feed_order(harness)
    assert await harness.outbox.pending(tenant_id) == 0
    newest = max(
        Stamp(str(r["DateUpdated"]), float(r["TimeUpdated"]))
        for r in harness.side.state.company("ABC").table("AR_Customer").rows()
    )
    assert await harness.store.watermark(tenant_id, Entity.AR_CUSTOMER) == newest


async def test_a_failed_background_drain_stops_the_poll_and_loses_nothing(
    harness: Harness,
) -> None:
    tenant_id = harness.tenant.tenant_id
    failing = FailingFrom(harness.publisher, fail_at=2)
    with pytest.raises(Crash):
        await poll_pages(harness, failing, page_size=7)
    first = [e.source_key for e in changes(harness.take())]
    waiting = await harness.outbox.pending(tenant_id)
    assert first and waiting  # the first drain went out, the second failed and left its rows
    assert await harness.outbox.drain(tenant_id) == waiting  # the next tick's relay
    rest = [e.source_key for e in changes(harness.take())]
    assert first + rest == feed_order(harness)[: len(first) + len(rest)]  # order, no repeats
    await harness.poll(Entity.AR_CUSTOMER)  # resumes from the committed watermark
    resumed = [e.source_key for e in changes(harness.take())]
    assert sorted(first + rest + resumed) == sorted(feed_order(harness))


async def test_relay_publishes_queued_events_themselves_and_decodes_the_others(
    harness: Harness,
) -> None:
    tenant_id = harness.tenant.tenant_id
    with pytest.raises(Crash):
        await poll_pages(harness, FailingFrom(harness.publisher, fail_at=1), page_size=100)
    async with harness.store.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM poller_outbox WHERE tenant_id = $1 ORDER BY id", tenant_id
        )
    payloads = [bytes(r["payload"]) for r in rows]
    queued = {p: decode(p) for p in payloads[::2]}  # as enqueue() hands them to the relay
    recording = RecordingPublisher(harness.publisher)
    assert await OutboxRelay(harness.store.pool, recording).drain(tenant_id, queued) == len(rows)
    sent = [event for _, event in recording.sent]
    assert [encode(e) for e in sent] == payloads  # the same bytes, in outbox order
    assert all(sent[i] is queued[p] for i, p in enumerate(payloads) if p in queued)
    assert all(sent[i] == decode(p) for i, p in enumerate(payloads))
