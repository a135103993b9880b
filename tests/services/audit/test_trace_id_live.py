"""Trace ids in the audit log on the real Kafka and PostgreSQL: the audit's real handler in the
real consume loop stores each delivery's trace id (none for a missing or malformed header), the
first delivery's trace stays when an event arrives again, a replay keeps its own, the hash chain
stays intact, and `mlc_ops` trail (what `mlc audit trail --json` prints) shows them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import asyncpg
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from audit.handlers import handle_batch
from audit.service import to_row
from audit.store import store_rows, verify_chains
from mlc_core.consume import consume_forever
from mlc_core.contracts import encode
from mlc_core.db import create_pool
from mlc_core.kafka import Backoff, create_admin, create_consumer, create_producer
from mlc_ops.audit import trail
from mlc_ops.replay_events import replayed

from tests.factories import raw_event
from tests.infra import ADMIN_URL, with_database
from tests.services.audit.test_trace_id import Delivered, traceparent_header

pytestmark = pytest.mark.integration  # the real Kafka and PostgreSQL

FIRST, AGAIN, REPLAY = (uuid.uuid4().hex for _ in range(3))
Message = tuple[bytes, list[tuple[str, bytes]]]


async def new_topic(bootstrap: str) -> str:
    name = f"test.audit.trace.{uuid.uuid4().hex[:8]}"
    admin = create_admin(bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return name


async def deliver(
    bootstrap: str, topic: str, messages: Sequence[Message], pool: asyncpg.Pool
) -> None:
    """Produce the messages, then run the audit's consume loop until it committed them all."""
    producer = create_producer(bootstrap, client_id="test-audit-trace")
    await producer.start()
    try:
        for value, headers in messages:
            await producer.send_and_wait(topic, value, headers=headers)
    finally:
        await producer.stop()
    group = f"test-audit-trace-{uuid.uuid4().hex[:8]}"
    consumer = create_consumer(bootstrap, topic, group_id=group, client_id=group)
    await consumer.start()
    stop = asyncio.Event()
    loop = asyncio.create_task(
        consume_forever(
            consumer, lambda b: handle_batch(b, pool=pool), stop=stop, backoff=Backoff(0.05, 0.2)
        )
    )
    try:
        deadline, tp = time.monotonic() + 60, TopicPartition(topic, 0)
        while (await consumer.committed(tp) or 0) < len(messages):
            if time.monotonic() > deadline or loop.done():
                pytest.fail(f"the audit consumer stalled at {await consumer.committed(tp)}")
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
        await consumer.stop()


async def stored_trace(pool: asyncpg.Pool, event_id: uuid.UUID) -> str | None:
    rows = await pool.fetch("SELECT trace_id FROM audit_events WHERE event_id = $1", event_id)
    assert len(rows) == 1, f"event {event_id} stored {len(rows)} times"
    value: str | None = rows[0]["trace_id"]
    return value


async def test_each_delivery_stores_its_trace_id_or_none(
    kafka_bootstrap: str, app_pool: asyncpg.Pool, tenant_id: str
) -> None:
    traced, bare, malformed = (raw_event(tenant=tenant_id, CustomerNo=n) for n in "ABC")
    broken = [("traceparent", b"00-not-a-trace-01"), ("mlc-correlation-id", b"x")]
    messages = [
        (encode(traced), traceparent_header(FIRST)),
        (encode(bare), []),
        (encode(malformed), broken),
    ]
    await deliver(kafka_bootstrap, await new_topic(kafka_bootstrap), messages, app_pool)
    assert await stored_trace(app_pool, traced.event_id) == FIRST
    assert await stored_trace(app_pool, bare.event_id) is None
    assert await stored_trace(app_pool, malformed.event_id) is None
    checks, _, _ = await verify_chains(app_pool, tenant=tenant_id)
    assert checks[0].intact and checks[0].checked == 3


async def test_the_first_delivery_wins_and_a_replay_has_its_own_trace(
    kafka_bootstrap: str, app_pool: asyncpg.Pool, tenant_id: str
) -> None:
    event = raw_event(tenant=tenant_id, CustomerNo="RPL")
    topic = await new_topic(kafka_bootstrap)
    await deliver(kafka_bootstrap, topic, [(encode(event), traceparent_header(FIRST))], app_pool)
    _, replay = replayed(
        event.event_id,
        event.model_dump(mode="json"),
        replay_id=uuid.uuid4(),
        reason="test",
    )
    again = [
        (encode(event), traceparent_header(AGAIN)),
        (encode(replay), traceparent_header(REPLAY)),
    ]
    await deliver(kafka_bootstrap, topic, again, app_pool)

    assert await stored_trace(app_pool, event.event_id) == FIRST  # the redelivery changed nothing
    assert await stored_trace(app_pool, replay.event_id) == REPLAY
    found = await trail(
        pool=app_pool, tenant_id=tenant_id, entity=event.entity, key=event.source_key
    )
    shown = [(e["kind"], e["trace_id"]) for e in found.as_json()["events"]]
    assert shown == [("poll", FIRST), ("replay", REPLAY)]
    checks, _, _ = await verify_chains(app_pool, tenant=tenant_id)
    assert checks[0].intact and checks[0].checked == 2


async def test_the_audit_role_stores_trace_ids_and_nobody_rewrites_them(
    database: str, tenant_id: str
) -> None:
    """Through the service's own role (migration 0008's grants, 0013's audit_append)."""
    event = raw_event(tenant=tenant_id, CustomerNo="ROLE")
    row = to_row(Delivered(encode(event), traceparent_header(FIRST)))
    audit = await create_pool(with_database(ADMIN_URL, database, "mlc_audit"))
    operator = await asyncpg.connect(with_database(ADMIN_URL, database, "mlc_operator"))
    try:
        assert await store_rows(audit, [row]) == 1
        read = "SELECT trace_id FROM audit_events WHERE event_id = $1"
        assert await operator.fetchval(read, event.event_id) == FIRST
        rewrite = "UPDATE audit_events SET trace_id = $2 WHERE event_id = $1"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await audit.execute(rewrite, event.event_id, AGAIN)
        assert await operator.fetchval(read, event.event_id) == FIRST
    finally:
        await operator.close()
        await audit.close()
