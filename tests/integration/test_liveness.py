"""/healthz sees a consumer that stopped consuming and a supervised loop that stopped making
progress (issue 14: "liveness cannot see a consumer that stopped consuming"). Before, /healthz
answered 200 as long as the event loop ran, whatever the consume loop or a tenant's loop did.

The consumer is a real one on the real Kafka whose handler hangs on a record; the supervised
loop hangs in a real PostgreSQL query (a lock wait nobody ends)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence

import asyncpg
import httpx
import pytest
from aiokafka.admin import NewTopic
from mlc_core.consume import consume_forever
from mlc_core.health import Liveness, Readiness, serve_probes
from mlc_core.kafka import Record, create_admin, create_consumer, create_producer
from mlc_core.supervise import RestartBackoff, Supervisor

from tests.e2e.conftest import free_port

STALL_S = 1.5


@pytest.fixture
async def probe() -> AsyncIterator[tuple[str, Liveness, asyncio.Event]]:
    liveness, stop, port = Liveness(stall_after=STALL_S), asyncio.Event(), free_port()
    server = await serve_probes("127.0.0.1", port, Readiness(checks={}, stop=stop), liveness)
    yield f"http://127.0.0.1:{port}/healthz", liveness, stop
    server.close()


async def health(url: str) -> tuple[int, dict[str, object]]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(url)
    return response.status_code, response.json()


async def until_unhealthy(url: str, within: float) -> dict[str, object]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status, body = await health(url)
        if status == 503:
            return body
        await asyncio.sleep(0.2)
    pytest.fail(f"/healthz still healthy after {within} s")


async def test_a_consumer_hung_in_its_handler_fails_liveness(
    kafka_bootstrap: str, probe: tuple[str, Liveness, asyncio.Event]
) -> None:
    url, liveness, stop = probe
    topic = f"test.liveness.{uuid.uuid4().hex[:8]}"
    admin = create_admin(kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    await admin.close()
    producer = create_producer(kafka_bootstrap, client_id="test-liveness")
    await producer.start()
    group = f"test-liveness-{uuid.uuid4().hex[:8]}"
    consumer = create_consumer(kafka_bootstrap, topic, group_id=group, client_id=group)
    await consumer.start()
    handled, never = asyncio.Event(), asyncio.Event()

    async def hangs(records: Sequence[Record]) -> None:
        handled.set()
        await never.wait()  # a call that never returns (no timeout anywhere)

    loop = asyncio.create_task(
        consume_forever(consumer, hangs, stop=stop, heartbeat=liveness.heartbeat("consume"))
    )
    try:
        assert (await health(url))[0] == 200  # consuming, nothing to do yet
        await asyncio.sleep(STALL_S + 0.5)
        assert (await health(url))[0] == 200  # idle but fetching: alive
        await producer.send_and_wait(topic, b"{}")
        await asyncio.wait_for(handled.wait(), 30)
        body = await until_unhealthy(url, STALL_S * 4)
        assert body == {"status": "stalled", "stalled": ["consume"]}
    finally:
        stop.set()
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        await consumer.stop()
        await producer.stop()


async def test_a_supervised_loop_hung_in_postgresql_fails_liveness(
    app_pool: asyncpg.Pool, probe: tuple[str, Liveness, asyncio.Event]
) -> None:
    url, liveness, stop = probe
    loops = Supervisor(stop=stop, backoff=RestartBackoff(base=0.1, cap=0.2))
    liveness.watch(lambda now: loops.stalled(longer_than=STALL_S, now=now))
    lock = 0x14B0 + uuid.uuid4().int % 1000
    async with app_pool.acquire() as holder:
        await holder.execute("SELECT pg_advisory_lock($1)", lock)

        async def healthy() -> float:
            return 0.1

        async def waits_on_the_lock() -> float:
            await app_pool.execute("SELECT pg_advisory_xact_lock($1)", lock)
            return 0.1

        loops.start("poll:globex", healthy, labels={"tenant": "globex"})
        loops.start("poll:acme", waits_on_the_lock, labels={"tenant": "acme"})
        try:
            assert (await health(url))[0] == 200
            body = await until_unhealthy(url, STALL_S * 4)
            assert body == {"status": "stalled", "stalled": ["poll:acme"]}
        finally:
            stop.set()
            loops.cancel("poll:acme")
            loops.cancel("poll:globex")
            await holder.execute("SELECT pg_advisory_unlock($1)", lock)
