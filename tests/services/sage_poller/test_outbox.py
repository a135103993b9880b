"""The transactional outbox on the real PostgreSQL and Kafka: a crash between the commit and
the publish, or between Kafka's acks and the outbox delete, loses nothing; a restart (a new
relay) publishes the rest, with the same event ids; a pass's check of an empty outbox runs no
drain (no transaction, no lock)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from mlc_core.contracts import Entity, Envelope, SageRecordChanged, Topics
from mlc_core.kafka import Publisher
from sage_poller.handlers import DEFAULT_PAGE_SIZE
from sage_poller.outbox import OutboxRelay, Queued

from tests.services.sage_poller.sage_harness import Harness, changes, read_topic

pytestmark = pytest.mark.integration


class Crash(Exception):
    """The process dies here."""


class CrashBeforeSend(Publisher):
    def __init__(self) -> None:
        self.calls = 0

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        self.calls += 1
        raise Crash


class CrashAfterAcks(Publisher):
    """Kafka has the batch (acks), then the process dies before the outbox delete."""

    def __init__(self, inner: Publisher) -> None:
        self._inner = inner

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        await self._inner.publish_all(items)
        raise Crash


async def poll_with(h: Harness, publisher: Publisher, batch: int = 2000) -> None:
    outbox = OutboxRelay(h.store.pool, publisher, batch=batch)
    await h.poll(Entity.AR_CUSTOMER, page_size=DEFAULT_PAGE_SIZE, outbox=outbox)


def customer_keys(h: Harness) -> set[str]:
    rows = h.side.state.company("ABC").table("AR_Customer").rows()
    return {f"{r['ARDivisionNo']}-{r['CustomerNo']}" for r in rows}


async def test_crash_between_commit_and_publish_loses_nothing(
    harness: Harness, kafka_bootstrap: str
) -> None:
    tenant_id, crashing, began = harness.tenant.tenant_id, CrashBeforeSend(), time.time()
    with pytest.raises(Crash):
        await poll_with(harness, crashing)
    assert crashing.calls == 1
    wanted = customer_keys(harness)
    # The page is committed: watermark moved, versions stored, events waiting in the outbox.
    assert await harness.store.watermark(tenant_id, Entity.AR_CUSTOMER) is not None
    assert await harness.outbox.pending(tenant_id) == len(wanted)
    assert harness.take() == []

    assert await harness.outbox.drain_left(tenant_id) == len(wanted)  # the restarted pass
    assert await harness.outbox.pending(tenant_id) == 0
    assert await harness.outbox.drain_left(tenant_id) == 0  # nothing left: nothing sent
    assert {e.source_key for e in changes(harness.take())} == wanted
    on_kafka = await read_topic(
        kafka_bootstrap, Topics.SAGE_CHANGES, tenant_id, len(wanted), since=began
    )
    assert {e.source_key for e in on_kafka if isinstance(e, SageRecordChanged)} == wanted

    await harness.poll(Entity.AR_CUSTOMER)  # the next poll does not emit them again
    assert changes(harness.take()) == []


async def test_crash_between_acks_and_delete_republishes_same_ids(
    harness: Harness, kafka_bootstrap: str
) -> None:
    tenant_id, began = harness.tenant.tenant_id, time.time()
    with pytest.raises(Crash):
        await poll_with(harness, CrashAfterAcks(harness.publisher), batch=10)
    first = changes(harness.take())
    assert len(first) == 10  # one batch reached Kafka, its delete never happened
    wanted = customer_keys(harness)
    assert await harness.outbox.pending(tenant_id) == len(wanted)

    assert await harness.outbox.drain(tenant_id) == len(wanted)
    again = changes(harness.take())
    assert {e.source_key for e in again} == wanted
    by_key = {e.source_key: e.event_id for e in again}
    assert all(by_key[e.source_key] == e.event_id for e in first)  # duplicates, same ids
    on_kafka = await read_topic(
        kafka_bootstrap, Topics.SAGE_CHANGES, tenant_id, len(wanted) + 10, since=began
    )
    ids = [e.event_id for e in on_kafka if isinstance(e, SageRecordChanged)]
    assert set(ids) == set(by_key.values()) and len(ids) == len(wanted) + 10


class CountingRelay(OutboxRelay):
    """The real relay, counting its transactional drains."""

    drains = 0

    async def drain(self, tenant_id: str, queued: Queued | None = None) -> int:
        self.drains += 1
        return await super().drain(tenant_id, queued)


async def test_a_pass_drains_only_an_outbox_that_holds_something(harness: Harness) -> None:
    tenant_id = harness.tenant.tenant_id
    relay = CountingRelay(harness.store.pool, harness.publisher)
    assert await relay.drain_left(tenant_id) == 0
    assert relay.drains == 0  # one read said empty: no transaction, no advisory lock

    with pytest.raises(Crash):
        await poll_with(harness, CrashBeforeSend())  # leaves the page in the outbox
    wanted = customer_keys(harness)
    assert await relay.drain_left(tenant_id) == len(wanted)
    assert relay.drains == 1 and await relay.pending(tenant_id) == 0
