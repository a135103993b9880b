"""Pacing of bulk pages (pacing.py) on the real Kafka and PostgreSQL, with the emulator and
agent over HTTP: a poll's later pages wait while a consumer group after the poller is behind,
and go as it catches up; a group with no member is not waited for."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka import AIOKafkaConsumer
from mlc_core.contracts import Entity, Topics
from mlc_core.lag import LagReader
from sage_poller.handlers import poll_entity
from sage_poller.pacing import Pacer

from tests.services.sage_poller.sage_harness import Harness

pytestmark = pytest.mark.integration


@pytest.fixture
async def lag_reader(kafka_bootstrap: str) -> AsyncIterator[LagReader]:
    reader = LagReader(kafka_bootstrap)
    await reader.start()
    yield reader
    await reader.close()


@pytest.fixture
async def behind(kafka_bootstrap: str, publisher: object) -> AsyncIterator[AIOKafkaConsumer]:
    """A member of a fresh group on the changes topic, its offsets committed at the end now;
    it reads nothing unless the test says so (`caught_up`). `publisher` made the topics."""
    consumer = AIOKafkaConsumer(
        Topics.SAGE_CHANGES,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"mlc-test-pace-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="latest",
    )
    await consumer.start()
    deadline = time.monotonic() + 30
    while not consumer.assignment():
        assert time.monotonic() < deadline, "the test group got no partitions"
        await consumer.getmany(timeout_ms=200)
    await caught_up(consumer)
    yield consumer
    await consumer.stop()


async def caught_up(consumer: AIOKafkaConsumer) -> None:
    """The group has done everything on the topic so far."""
    await consumer.seek_to_end()
    await consumer.commit({tp: await consumer.position(tp) for tp in consumer.assignment()})


async def until(check: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_later_pages_wait_while_the_group_after_the_poller_is_behind(
    harness: Harness, lag_reader: LagReader, behind: AIOKafkaConsumer
) -> None:
    group = behind._group_id
    assert group is not None
    pacer = Pacer(
        lag_reader, max_backlog=5, check_every_s=0.05, groups={group: Topics.SAGE_CHANGES}
    )
    io = dataclasses.replace(harness.io(Entity.AR_CUSTOMER, page_size=10), pacer=pacer)
    tenant_id = harness.tenant.tenant_id
    poll = asyncio.create_task(
        poll_entity(tenant=harness.tenant, entity=Entity.AR_CUSTOMER, io=io, overlap_seconds=60)
    )
    try:
        # The first page (10 events) went out at once; the second waits for the group.
        await until(lambda: pacer.waiting == 1, within=30, what="the second page did not wait")
        sent = [e for _, e in harness.publisher.sent if e.tenant_id == tenant_id]
        assert len(sent) == 10
        assert await lag_reader.active_lag({group: Topics.SAGE_CHANGES}) >= 10
        done = (await lag_reader.active_progress({group: Topics.SAGE_CHANGES})).done
        for pages in (2, 3):  # each time the group catches up, one more page goes
            await caught_up(behind)
            progress = await lag_reader.active_progress({group: Topics.SAGE_CHANGES})
            assert progress.done >= done + 10  # what the group did is the pacer's pace
            done = progress.done
            await until(
                lambda n=pages: (
                    len([e for _, e in harness.publisher.sent if e.tenant_id == tenant_id])
                    == 10 * n
                ),
                within=30,
                what=f"page {pages} did not go once the group caught up",
            )
        result = await asyncio.wait_for(poll, 30)
    finally:
        poll.cancel()
    assert result.emitted == 30


async def test_a_group_without_members_is_not_waited_for(
    harness: Harness, lag_reader: LagReader, behind: AIOKafkaConsumer
) -> None:
    group = behind._group_id
    assert group is not None
    groups = {group: Topics.SAGE_CHANGES}
    pacer = Pacer(lag_reader, max_backlog=5, check_every_s=0.05, groups=groups)
    io = dataclasses.replace(harness.io(Entity.AR_CUSTOMER, page_size=10), pacer=pacer)
    await behind.stop()  # the group is left Empty with its committed offsets
    result = await asyncio.wait_for(
        poll_entity(tenant=harness.tenant, entity=Entity.AR_CUSTOMER, io=io, overlap_seconds=60),
        30,
    )
    assert result.emitted == 30
    assert (await lag_reader.lag(groups))[group] >= 30  # behind, but nobody to wait for
    assert await lag_reader.active_lag(groups) == 0
