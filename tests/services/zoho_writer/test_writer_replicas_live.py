"""Writer replicas share each org's Zoho concurrency by themselves, on real PostgreSQL (their
heartbeats in writer_replicas), Kafka and the Zoho emulator over HTTP: together they never
exceed the org's limit, and each replica's share follows the live count as replicas join,
leave and die."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from mlc_core.contracts import OutcomeStatus
from mlc_core.crypto import KeyRing
from zoho_writer.replicas import ReplicaTiming, WriterReplicas
from zoho_writer.store import ReplicaStore

from tests.factories import command
from tests.services.zoho_writer.live import (
    Emulator,
    Writer,
    emulator_url,
    new_tenant,
    writers,
    zoho,
)

pytestmark = pytest.mark.integration
__all__ = ["emulator_url", "writers", "zoho"]

TIMING = ReplicaTiming(beat_seconds=0.1, live_for_seconds=1.0, join_wait_seconds=10.0)


class Running:
    """Replicas with their heartbeat loops, as main.py runs them."""

    def __init__(self) -> None:
        self.stops: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.replicas: dict[str, WriterReplicas] = {}

    async def start(self, name: str, writer: Writer) -> WriterReplicas:
        replicas = WriterReplicas(
            store=ReplicaStore(writer.deps.pool),
            limiter=writer.deps.limiter,
            timing=TIMING,
            replica_id=name,
        )
        stop = asyncio.Event()
        await replicas.join(stop)
        self.stops[name], self.replicas[name] = stop, replicas
        self.tasks[name] = asyncio.create_task(replicas.keep_beating(stop))
        return replicas

    async def halt(self, name: str) -> None:
        """Stop beating (a replica that died: its row stays until it ages out)."""
        self.stops[name].set()
        await self.tasks.pop(name)

    async def close(self) -> None:
        for name in list(self.tasks):
            await self.halt(name)
        for replicas in self.replicas.values():
            await replicas.leave()


@pytest.fixture
async def running(app_pool: asyncpg.Pool) -> AsyncIterator[Running]:
    await app_pool.execute("DELETE FROM writer_replicas")
    run = Running()
    yield run
    await run.close()


async def eventually(check: Callable[[], bool], *, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_two_replicas_together_stay_within_the_orgs_concurrency(
    writers: list[Writer],
    running: Running,
    zoho: Emulator,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
) -> None:
    # A Free org: 5 calls at once; alone each replica would take all 5 (10 together: 429s).
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id, edition="free")
    first, second = writers[0], writers[1]
    await asyncio.gather(running.start("a", first), running.start("b", second))
    assert first.deps.limiter.replicas == second.deps.limiter.replicas == 2
    await zoho.control("POST", "/_emulator/faults", org=tenant, latency_ms=300, seconds=120)
    commands = [command(key=f"01-{i:05d}", tenant=tenant) for i in range(1600)]
    await asyncio.gather(first.handle(commands[:800]), second.handle(commands[800:]))
    stats = (await zoho.stats(tenant))["limits"]
    assert stats["rejected_concurrency"] == 0 and stats["rejected_sub_concurrency"] == 0
    # Never a 429: the sum stayed within 5 (the emulator refuses the 6th call at once), and
    # both replicas were at their full share together (2 + 2; the org's metadata reads, a
    # field check, are not batch writes and may add one).
    assert stats["max_in_flight"] >= 4, stats
    records = await zoho.records(tenant)
    assert len({r["Sage_Customer_No"] for r in records}) == len(records) == 1600
    for writer in (first, second):
        assert not writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)
        assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)


async def test_each_replicas_share_follows_the_live_count(
    writers: list[Writer], running: Running
) -> None:
    a, b, c = writers[0], writers[1], writers[2]
    gates = [w.deps.limiter.gate("org", "free") for w in (a, b, c)]
    await running.start("a", a)
    assert gates[0].size == 5  # alone: the whole org
    await running.start("b", b)
    await eventually(lambda: [g.size for g in gates[:2]] == [2, 2])
    # A call in flight on `a` when a third replica joins: `c` waits until `a` has shrunk to
    # one slot and that call has ended, so the three never hold more than 5 together.
    await gates[0].acquire()
    await gates[0].acquire()
    joined = asyncio.create_task(running.start("c", c))
    await eventually(lambda: gates[0].size == 1)
    await asyncio.sleep(TIMING.beat_seconds * 5)
    assert not joined.done(), "joined while `a` still held two calls"
    gates[0].release()  # one call left: `a` fits its share of 1, `c` may call
    await asyncio.wait_for(joined, 5)
    gates[0].release()
    assert [g.size for g in gates] == [1, 1, 1]
    # `c` stops cleanly: its row goes at once, the others grow at their next beat.
    await running.halt("c")
    await running.replicas["c"].leave()
    await eventually(lambda: [g.size for g in gates[:2]] == [2, 2])
    # `b` dies (stops beating, row left behind): `a` keeps the smaller share until the bound.
    await running.halt("b")
    died = time.monotonic()
    await eventually(lambda: gates[0].size == 5, within=TIMING.live_for_seconds + 3)
    assert time.monotonic() - died >= TIMING.live_for_seconds * 0.8
