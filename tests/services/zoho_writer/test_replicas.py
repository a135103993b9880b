"""Sharing an org's Zoho concurrency across writer replicas: the resizable gate, the limiter
following the live count, and the join/beat protocol (pure logic; the store is a fake)."""

from __future__ import annotations

import asyncio

import pytest
from zoho_writer.limiter import Gate, TenantLimiter, slots
from zoho_writer.replicas import Beat, ReplicaTiming, WriterReplicas
from zoho_writer.store import ReplicaStore


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_grown_gate_admits_waiters_at_once() -> None:
    gate = Gate(1)
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await _settle()
    assert not waiter.done()
    gate.resize(2)
    await _settle()
    assert waiter.done() and gate.held == 2


async def test_a_shrink_keeps_calls_in_flight_and_admits_new_ones_as_they_finish() -> None:
    gate = Gate(4)
    for _ in range(4):
        await gate.acquire()
    gate.resize(2)
    assert gate.held == 4 and gate.locked()
    waiter = asyncio.create_task(gate.acquire())
    for held in (3, 2):  # two calls finish: still at or over the new size
        gate.release()
        await _settle()
        assert not waiter.done() and gate.held == held
    gate.release()
    await _settle()
    assert waiter.done() and gate.held == 2


async def test_a_cancelled_waiter_passes_its_wake_up_on() -> None:
    gate = Gate(1)
    await gate.acquire()
    first = asyncio.create_task(gate.acquire())
    second = asyncio.create_task(gate.acquire())
    await _settle()
    gate.release()  # wakes `first`, which is cancelled before it runs
    first.cancel()
    await _settle()
    assert first.cancelled() and second.done() and gate.held == 1


async def test_the_gate_is_a_semaphore_to_its_callers() -> None:
    gate: asyncio.Semaphore = Gate(1)
    async with gate:
        assert gate.locked()
    assert not gate.locked()
    with pytest.raises(ValueError, match="released more often"):
        gate.release()


async def test_a_call_cancelled_in_flight_keeps_its_slot_as_long_again_as_it_ran(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Zoho still counts a dropped request against the org: its slot is not freed at once."""
    monkeypatch.setattr("zoho_writer.limiter.CANCELLED_HOLD_MIN_S", 0.2)
    gate = Gate(1)

    async def call(seconds: float) -> None:
        async with gate.calling():
            await asyncio.sleep(seconds)

    cut = asyncio.create_task(call(10))
    await asyncio.sleep(0.3)
    cut.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cut
    assert gate.held == 1  # still Zoho's
    loop = asyncio.get_running_loop()
    started = loop.time()
    await call(0)  # waits for the slot
    assert loop.time() - started >= 0.25  # the 0.3 s it had run, not the 0.2 s minimum
    assert gate.held == 0
    await asyncio.wait_for(call(0), 1)  # a call that ends frees its slot at once
    with pytest.raises(RuntimeError):
        async with gate.calling():
            raise RuntimeError("a failed call")  # frees it at once too
    assert gate.held == 0


def test_shares_never_sum_past_the_ceiling_while_each_replica_has_one() -> None:
    for edition, ceiling in (("free", 5), ("standard", 10), ("ultimate", 10)):
        for replicas in range(1, ceiling + 1):
            assert slots(edition, replicas) >= 1 and slots(edition, replicas) * replicas <= ceiling
    assert [slots("enterprise", n) for n in (1, 2, 3, 4)] == [10, 5, 3, 2]


async def test_the_limiter_resizes_every_tenants_gate_with_the_live_count() -> None:
    limiter = TenantLimiter()
    free, pro = limiter.gate("a", "free"), limiter.gate("b", "professional")
    assert (free.size, pro.size) == (5, 10)
    for _ in range(5):
        await free.acquire()
    limiter.set_replicas(2)
    assert limiter.gate("a", "free") is free and (free.size, pro.size) == (2, 5)
    assert not limiter.settled()  # 5 calls in flight on a share of 2
    for _ in range(3):
        free.release()
    assert limiter.settled()
    limiter.gate("a", "enterprise")  # an edition change resizes the same gate
    assert free.size == 5


class FakeStore(ReplicaStore):
    """Answers beats from a script; remembers what this replica reported."""

    def __init__(self, answers: list[tuple[int, int | None]]) -> None:
        self.answers = answers
        self.reported: list[int] = []
        self.left: list[str] = []

    async def beat(
        self, replica_id: str, *, settled_for: int, live_for_seconds: float
    ) -> tuple[int, int | None]:
        self.reported.append(settled_for)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    async def leave(self, replica_id: str) -> None:
        self.left.append(replica_id)


FAST = ReplicaTiming(beat_seconds=0.01, live_for_seconds=1.0, join_wait_seconds=5.0)


def test_a_replica_may_call_once_every_other_has_settled_to_the_count() -> None:
    assert Beat(1, None).others_ready
    assert not Beat(3, 2).others_ready and Beat(3, 3).others_ready and Beat(2, 3).others_ready


async def test_join_waits_until_the_others_have_made_room() -> None:
    store = FakeStore([(2, 1), (2, 1), (2, 2)])
    limiter = TenantLimiter()
    replicas = WriterReplicas(store=store, limiter=limiter, timing=FAST, replica_id="r")
    beat = await replicas.join(asyncio.Event())
    assert beat == Beat(2, 2) and limiter.replicas == 2
    assert store.reported == [1, 2, 2]  # nothing in flight: settled to each count it knew


async def test_join_gives_up_waiting_on_a_replica_that_never_settles() -> None:
    store = FakeStore([(2, 1)])
    timing = ReplicaTiming(beat_seconds=0.01, live_for_seconds=1.0, join_wait_seconds=0.05)
    replicas = WriterReplicas(store=store, limiter=TenantLimiter(), timing=timing)
    assert await replicas.join(asyncio.Event()) == Beat(2, 1)
    assert len(store.reported) >= 3


async def test_a_replica_reports_a_larger_count_only_once_its_extra_calls_ended() -> None:
    store = FakeStore([(1, None)])
    limiter = TenantLimiter()
    replicas = WriterReplicas(store=store, limiter=limiter, timing=FAST)
    await replicas.beat()
    gate = limiter.gate("a", "standard")
    for _ in range(10):
        await gate.acquire()
    store.answers = [(2, 0)]  # a second replica joined
    await replicas.beat()
    await replicas.beat()
    assert gate.size == 5 and store.reported[-1] == 1  # 10 in flight: still settled for 1
    for _ in range(5):
        gate.release()
    await replicas.beat()  # the calls beyond the share ended: said at the very next beat
    assert store.reported[-1] == 2


async def test_keep_beating_follows_the_count_until_stopped_then_leave_removes_the_row() -> None:
    store = FakeStore([(1, None), (1, None), (4, 4)])
    limiter = TenantLimiter()
    replicas = WriterReplicas(store=store, limiter=limiter, timing=FAST, replica_id="r")
    stop = asyncio.Event()
    beating = asyncio.create_task(replicas.keep_beating(stop))
    for _ in range(500):
        if limiter.replicas == 4:
            break
        await asyncio.sleep(0.01)
    assert limiter.replicas == 4
    stop.set()
    await beating
    await replicas.leave()
    assert store.left == ["r"]
