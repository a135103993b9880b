"""aiokafka against the real broker that deploy/local/kafka.sh runs (Kafka 4.2, KRaft).

Kafka 4.0 removed many old protocol versions (KIP-896). These tests pin down
that the client features the connector relies on still work end to end:
idempotent produce, explicit offset commits and resuming from them, and
transactions (commit, abort, read_committed, offsets inside a transaction).

Start the broker first: ``deploy/local/up.sh`` (or ``deploy/local/kafka.sh start``).
The bootstrap address comes from ``MLC_KAFKA_BOOTSTRAP`` (default 127.0.0.1:19092).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

pytestmark = pytest.mark.integration

BOOTSTRAP = os.environ.get("MLC_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
# Upper bound for any wait on the broker; a healthy local broker needs < 5 s.
WAIT_S = 30.0

TopicFactory = Callable[[int], Awaitable[str]]


def _unique(prefix: str) -> str:
    return f"mlc-compat-{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def admin() -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=10_000)
    try:
        await client.start()
    except KafkaConnectionError as exc:
        await client.close()
        pytest.fail(
            f"no Kafka broker at {BOOTSTRAP} ({exc}); start one with deploy/local/up.sh "
            "or point MLC_KAFKA_BOOTSTRAP at a running broker",
            pytrace=False,
        )
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def make_topic(admin: AIOKafkaAdminClient) -> AsyncIterator[TopicFactory]:
    """Creates uniquely named topics (auto-create is off) and deletes them afterwards."""
    created: list[str] = []

    async def create(partitions: int) -> str:
        name = _unique("t")
        response = await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        errors = [(t, code, msg) for t, code, msg in response.topic_errors if code != 0]
        assert not errors, f"create_topics failed: {errors}"
        created.append(name)
        return name

    yield create
    if created:
        response = await admin.delete_topics(created)
        errors = [(t, code) for t, code in response.topic_error_codes if code != 0]
        assert not errors, f"delete_topics failed: {errors}"


async def _drain(
    consumer: AIOKafkaConsumer, expected: int, *, stop_value: bytes | None = None
) -> list[ConsumerRecord[bytes, bytes]]:
    """Fetches until `expected` records (or the record `stop_value`) arrived."""
    records: list[ConsumerRecord[bytes, bytes]] = []
    async with asyncio.timeout(WAIT_S):
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
            if stop_value is not None and any(r.value == stop_value for r in records):
                break
    return records


async def _committed_eventually(
    consumer: AIOKafkaConsumer, tp: TopicPartition, wanted: int
) -> int | None:
    """Polls `committed()` until it returns `wanted` or WAIT_S passes; returns the last value."""
    committed: int | None = await consumer.committed(tp)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while committed != wanted and loop.time() < deadline:
        await asyncio.sleep(0.2)
        committed = await consumer.committed(tp)
    return committed


def _values(records: list[ConsumerRecord[bytes, bytes]]) -> list[bytes]:
    return [r.value for r in records if r.value is not None]


async def test_idempotent_produce_commit_and_resume(make_topic: TopicFactory) -> None:
    topic = await make_topic(3)
    tp = TopicPartition(topic, 0)
    group = _unique("g")
    sent = [f"msg-{i}".encode() for i in range(10)]

    async with AIOKafkaProducer(
        bootstrap_servers=BOOTSTRAP, enable_idempotence=True, acks="all"
    ) as producer:
        for value in sent:
            await producer.send_and_wait(topic, value, key=b"k", partition=0)

    async with AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    ) as first:
        records = await _drain(first, len(sent))
        assert _values(records) == sent
        assert [r.offset for r in records] == list(range(10))
        assert await first.committed(tp) is None
        # Commit "processed up to 5" explicitly, as the services do after
        # their side effect succeeded, and read it back from the broker.
        await first.commit({tp: 5})
        assert await first.committed(tp) == 5

    # A new member of the same group (e.g. a restarted service) resumes there.
    async with AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    ) as second:
        resumed = await _drain(second, 5)
        assert _values(resumed) == sent[5:]
        assert resumed[0].offset == 5
        assert await second.committed(tp) == 5


async def test_transactions_commit_abort_read_committed(make_topic: TopicFactory) -> None:
    topic = await make_topic(1)
    tp = TopicPartition(topic, 0)

    async with AIOKafkaProducer(
        bootstrap_servers=BOOTSTRAP, transactional_id=_unique("txn")
    ) as producer:
        async with producer.transaction():
            for i in range(3):
                await producer.send_and_wait(topic, f"committed-{i}".encode(), partition=0)

        await producer.begin_transaction()
        for i in range(2):
            await producer.send_and_wait(topic, f"aborted-{i}".encode(), partition=0)
        await producer.abort_transaction()

        # A committed transaction after the aborted one moves the last stable
        # offset past the abort marker, so read_committed can see "the end".
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-last", partition=0)

    expected = [b"committed-0", b"committed-1", b"committed-2", b"committed-last"]

    async with AIOKafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    ) as committed_reader:
        committed_reader.assign([tp])
        await committed_reader.seek_to_beginning(tp)
        records = await _drain(committed_reader, len(expected), stop_value=b"committed-last")
        assert _values(records) == expected

    # Sanity check that the aborted records really were written to the log.
    async with AIOKafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        isolation_level="read_uncommitted",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    ) as raw_reader:
        raw_reader.assign([tp])
        await raw_reader.seek_to_beginning(tp)
        raw = await _drain(raw_reader, 6, stop_value=b"committed-last")
        assert b"aborted-0" in _values(raw)
        assert b"aborted-1" in _values(raw)


async def test_offsets_committed_inside_transaction(make_topic: TopicFactory) -> None:
    """Consume-transform-produce: the input offset commits atomically with the output."""
    source = await make_topic(1)
    sink = await make_topic(1)
    src_tp = TopicPartition(source, 0)
    group = _unique("g")

    async with AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True) as plain:
        for i in range(4):
            await plain.send_and_wait(source, f"in-{i}".encode(), partition=0)

    async with (
        AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id=_unique("txn")) as producer,
        AIOKafkaConsumer(
            bootstrap_servers=BOOTSTRAP,
            group_id=group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
        ) as consumer,
    ):
        consumer.assign([src_tp])
        inputs = await _drain(consumer, 4)
        assert _values(inputs) == [f"in-{i}".encode() for i in range(4)]

        # Aborted: neither the output nor the offset may become visible.
        await producer.begin_transaction()
        await producer.send_and_wait(sink, b"out-aborted", partition=0)
        await producer.send_offsets_to_transaction({src_tp: 4}, group)
        await producer.abort_transaction()
        assert await consumer.committed(src_tp) is None

        # Committed: output and offset become visible together.
        async with producer.transaction():
            await producer.send_and_wait(sink, b"out-0", partition=0)
            await producer.send_offsets_to_transaction({src_tp: 2}, group)
        # EndTxn returns before the coordinator has written the commit markers,
        # so the offset becomes visible shortly after, not necessarily at once.
        assert await _committed_eventually(consumer, src_tp, 2) == 2

    async with AIOKafkaConsumer(
        sink,
        bootstrap_servers=BOOTSTRAP,
        group_id=_unique("g"),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    ) as reader:
        outputs = await _drain(reader, 1)
        assert _values(outputs) == [b"out-0"]
