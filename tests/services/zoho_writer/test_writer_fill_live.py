"""One tenant's change set spread over every partition goes out in full 100-record calls
(consume_combined with the writer's linger, on real Kafka, PostgreSQL and the Zoho emulator),
and no partition's offset is committed before the batch's effect is durable."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import asyncpg
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from mlc_core.consume import Linger, consume_combined
from mlc_core.contracts import OutcomeStatus, encode
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Record, create_admin, create_consumer, create_producer
from zoho_writer.fill import wants_more
from zoho_writer.handlers import handle_batch
from zoho_writer.settings import WriterSettings

from tests.factories import command
from tests.services.zoho_writer.live import (
    Emulator,
    Writer,
    emulator_url,
    new_tenant,
    writer,
    writers,
    zoho,
)

pytestmark = pytest.mark.integration
__all__ = ["emulator_url", "writer", "writers", "zoho"]
PARTITIONS = 6
BURST = 37  # records the mapper publishes at once here: never a whole call
DEFAULTS = WriterSettings.model_fields


def writer_linger() -> Linger:
    """The writer's own linger, at its default settings (main.py)."""
    return Linger(
        wants_more=wants_more,
        quiet_ms=DEFAULTS["writer_linger_ms"].default,
        max_ms=DEFAULTS["writer_linger_max_ms"].default,
        max_records=DEFAULTS["writer_max_poll_records"].default,
    )


async def fresh_topic(bootstrap: str) -> str:
    name = f"test.fill.{uuid.uuid4().hex[:8]}"
    admin = create_admin(bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()
    return name


async def used(zoho: Emulator, tenant: str) -> tuple[int, int]:
    stats = await zoho.stats(tenant)
    return int(stats["calls"]["total"]), int(stats["limits"]["credits_used_total"])


async def test_1000_commands_over_6_partitions_fill_whole_calls_and_commit_after_the_effect(
    writer: Writer,
    zoho: Emulator,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    kafka_bootstrap: str,
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle([command(key="WARM-UP", tenant=tenant)])  # token, edition, fields known
    calls_before, credits_before = await used(zoho, tenant)
    topic = await fresh_topic(kafka_bootstrap)
    consumer = create_consumer(
        kafka_bootstrap, topic, group_id=f"test-fill-{uuid.uuid4().hex[:6]}", client_id="fill"
    )
    producer = create_producer(kafka_bootstrap, client_id="test-fill")
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    batches: list[list[tuple[int, int]]] = []
    early: list[tuple[int, int | None, int]] = []  # partition, committed, first offset

    async def handler(records: Sequence[Record]) -> None:
        for partition in {r.partition for r in records}:
            first = min(r.offset for r in records if r.partition == partition)
            committed = await consumer.committed(TopicPartition(topic, partition))
            if committed is not None and committed > first:
                early.append((partition, committed, first))
        batches.append([(r.partition, r.offset) for r in records])
        await handle_batch(records, deps=writer.deps)
        if len(batches) == 1:  # a crash after the effect, before the commit: redelivered whole
            raise RuntimeError("the writer died before committing")

    consuming = asyncio.create_task(
        consume_combined(consumer, handler, stop=stop, linger=writer_linger())
    )
    try:
        for _ in range(600):  # the consumer joins its group (a fresh topic: seconds at most)
            if consumer.assignment():
                break
            await asyncio.sleep(0.05)
        ends: dict[int, int] = {}
        # As the mapper publishes a poll's changes: small bursts (its per-partition batches,
        # never a whole call) a moment apart, each spread by key over every partition.
        cmds = [command(key=f"01-{i:05d}", tenant=tenant) for i in range(1000)]
        for start in range(0, 1000, BURST):
            sent = [
                await producer.send(topic, encode(c), key=c.kafka_key)
                for c in cmds[start : start + BURST]
            ]
            for meta in await asyncio.gather(*sent):
                ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
            await asyncio.sleep(0.05)
        assert len(ends) == PARTITIONS, "the keys spread the commands over every partition"
        deadline = time.monotonic() + 90
        while True:
            committed = {p: await consumer.committed(TopicPartition(topic, p)) for p in ends}
            if committed == ends:
                break
            assert time.monotonic() < deadline, f"committed {committed}, expected {ends}"
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await consuming
        await producer.stop()
        await consumer.stop()

    calls, credits = await used(zoho, tenant)
    assert calls - calls_before <= 11, "1,000 records fill 10 calls of 100 (at most one partial)"
    assert credits - credits_before <= 105
    assert {p for p, _ in batches[0]} == set(range(PARTITIONS))  # one batch across partitions
    assert batches[1] == batches[0]  # the failed batch was retried whole
    assert not early, f"committed before the effect: {early}"
    records = await zoho.records(tenant)
    keys = [r["Sage_Customer_No"] for r in records if r["Sage_Customer_No"] != "WARM-UP"]
    assert len(keys) == len(set(keys)) == 1000
    written = writer.publisher.outcomes(tenant, OutcomeStatus.SUCCEEDED)
    assert len({o.external_value for o in written}) == 1001  # 1,000 and the warm-up
