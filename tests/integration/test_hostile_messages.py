"""Well-formed but hostile messages become dead letters (or, in the audit log, undecodable
rows) and never stall a consumer (issue 14): the mapper's and the audit's real handlers run in
the real consume loop, on a topic of the real Kafka, with the real PostgreSQL behind them.

Before: a NUL in `tenant_id` failed the mapper's map lookup in PostgreSQL, and an integer
beyond 64 bits in `schema_version` failed the audit's insert, on every retry, forever.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from audit.handlers import handle_batch as audit_batch
from mapper.handlers import handle_batch as mapper_batch
from mapper.store import MapCache
from mlc_core.consume import consume_forever
from mlc_core.contracts import DeadLetter, Topics, ZohoUpsertCommand, encode
from mlc_core.kafka import (
    Backoff,
    Publisher,
    Record,
    create_admin,
    create_consumer,
    create_producer,
    ensure_topics,
)
from mlc_core.malformed import decode_checked

from tests.factories import raw_event
from tests.services.sage_poller.sage_harness import read_topic


def hostile_messages(tenant: str) -> dict[str, bytes]:
    good = json.loads(encode(raw_event(tenant=tenant)))

    def variant(**changes: Any) -> bytes:
        body = {**good, "event_id": str(uuid.uuid4()), **changes}
        return json.dumps(body).encode()

    return {
        "nul in tenant_id": variant(tenant_id=tenant[:3] + "\x00" + tenant[3:]),
        "500 characters in tenant_id": variant(tenant_id="t" * 500),
        "upper case tenant_id": variant(tenant_id="ACME;DROP"),
        "nul in source_key": variant(source_key="01-AB\x00F"),
        "schema_version beyond 64 bits": variant(schema_version=2**70),
        "wrong schema version": variant(schema_version=7),
        "integer beyond 64 bits in the record": variant(record={**good["record"], "X": 2**64}),
        "unknown event type": variant(event_type="mlc.something_else"),
        "not json": b"\x00\xff{",
    }


async def produce(bootstrap: str, topic: str, tenant: str, values: Sequence[bytes]) -> None:
    producer = create_producer(bootstrap, client_id="test-hostile")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=f"{tenant}|ar_customer|01-X".encode())
    finally:
        await producer.stop()


async def consume_until_committed(
    bootstrap: str, topic: str, handler: Callable[[Sequence[Record]], Awaitable[None]], end: int
) -> None:
    """Runs the consume loop until the group committed `end` (fails after 60 s: a stall)."""
    group = f"test-hostile-{uuid.uuid4().hex[:8]}"
    consumer = create_consumer(bootstrap, topic, group_id=group, client_id=group)
    await consumer.start()
    stop = asyncio.Event()
    loop = asyncio.create_task(
        consume_forever(consumer, handler, stop=stop, backoff=Backoff(0.05, 0.2))
    )
    try:
        deadline = time.monotonic() + 60
        tp = TopicPartition(topic, 0)
        while time.monotonic() < deadline:
            if (await consumer.committed(tp) or 0) >= end:
                return
            await asyncio.sleep(0.2)
        pytest.fail(f"the consumer stalled: committed {await consumer.committed(tp)} of {end}")
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
        await consumer.stop()


@pytest.fixture
async def publisher(kafka_bootstrap: str) -> AsyncIterator[Publisher]:
    producer = create_producer(kafka_bootstrap, client_id="test-hostile-publisher")
    await producer.start()
    yield Publisher(producer, stage="mapper")
    await producer.stop()


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    await ensure_topics(kafka_bootstrap, partitions=3)
    name = f"test.hostile.{uuid.uuid4().hex[:8]}"
    admin = create_admin(kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return name


async def test_the_mapper_dead_letters_hostile_messages_and_maps_the_good_one(
    kafka_bootstrap: str, topic: str, app_pool: asyncpg.Pool, publisher: Publisher
) -> None:
    tenant, since = f"h{uuid.uuid4().hex[:8]}", time.time()
    hostile = hostile_messages(tenant)
    good = raw_event(tenant=tenant)
    await produce(kafka_bootstrap, topic, tenant, [*hostile.values(), encode(good)])
    maps = MapCache(pool=app_pool)

    async def handler(records: Sequence[Record]) -> None:
        await mapper_batch(records, publisher=publisher, maps=maps)

    await consume_until_committed(kafka_bootstrap, topic, handler, len(hostile) + 1)

    letters = await read_topic(
        kafka_bootstrap, Topics.DEAD_LETTERS, tenant, len(hostile), since=since
    )
    mine = [e for e in letters if isinstance(e, DeadLetter) and e.original_topic == topic]
    assert len(mine) == len(hostile)
    assert all(e.stage == "mapper" and tenant in e.error_message for e in mine)
    commands = await read_topic(kafka_bootstrap, Topics.ZOHO_COMMANDS, tenant, 1, since=since)
    assert [c.causation_id for c in commands if isinstance(c, ZohoUpsertCommand)] == [good.event_id]


async def test_the_audit_keeps_hostile_messages_as_undecodable_rows(
    kafka_bootstrap: str, topic: str, app_pool: asyncpg.Pool
) -> None:
    tenant = f"h{uuid.uuid4().hex[:8]}"
    hostile = hostile_messages(tenant)
    good = raw_event(tenant=tenant)
    await produce(kafka_bootstrap, topic, tenant, [*hostile.values(), encode(good)])

    async def handler(records: Sequence[Record]) -> None:
        await audit_batch(records, pool=app_pool)

    await consume_until_committed(kafka_bootstrap, topic, handler, len(hostile) + 1)

    rows = await app_pool.fetch(
        "SELECT event_type, tenant_id FROM audit_events WHERE topic = $1 ORDER BY kafka_offset",
        topic,
    )
    assert [r["event_type"] for r in rows] == ["mlc.undecodable"] * len(hostile) + [good.event_type]
    assert rows[-1]["tenant_id"] == tenant


@pytest.mark.parametrize("name", list(hostile_messages("acme")))
def test_each_hostile_message_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError):
        decode_checked(hostile_messages("acme")[name])


async def test_a_dead_letter_too_big_for_kafka_is_cut_and_the_partition_moves(
    kafka_bootstrap: str, topic: str, app_pool: asyncpg.Pool, publisher: Publisher
) -> None:
    """A 900 kB message that is not an event: its dead letter (the bytes base64, a third more)
    is past Kafka's limit, and sending it as it is failed the mapper's batch forever."""
    tenant, since = f"h{uuid.uuid4().hex[:8]}", time.time()
    big = b"\x01" + b"x" * 900_000
    good = raw_event(tenant=tenant)
    await produce(kafka_bootstrap, topic, tenant, [big, encode(good)])
    maps = MapCache(pool=app_pool)

    async def handler(records: Sequence[Record]) -> None:
        await mapper_batch(records, publisher=publisher, maps=maps)

    await consume_until_committed(kafka_bootstrap, topic, handler, 2)

    letters = await read_topic(kafka_bootstrap, Topics.DEAD_LETTERS, tenant, 1, since=since)
    [letter] = [e for e in letters if isinstance(e, DeadLetter) and e.original_topic == topic]
    assert letter.original["truncated"] is True and letter.original["size_bytes"] > 1_000_000
    assert "malformed message" in letter.error_message and "limit" in letter.error_message
