"""Supervised loops survive their crashes, back off between restarts, and stop when told."""

from __future__ import annotations

import asyncio
import logging

import pytest
from mlc_core.supervise import Iteration, LoopHealth, RestartBackoff, Supervisor, run_supervised

QUICK = RestartBackoff(base=0.01, cap=0.02)


async def test_a_crashing_iteration_is_logged_with_its_loop_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    calls: list[int] = []

    async def iteration() -> float:
        calls.append(len(calls))
        if len(calls) <= 2:
            raise ConnectionRefusedError(111, "Connect call failed")
        stop.set()
        return 0.0

    health = LoopHealth("poll:acme")
    with caplog.at_level(logging.ERROR, logger="mlc_core.supervise"):
        await asyncio.wait_for(
            run_supervised(
                "poll:acme",
                iteration,
                stop=stop,
                backoff=QUICK,
                health=health,
                labels={"tenant": "acme"},
            ),
            timeout=5,
        )

    assert len(calls) == 3  # two crashes, both restarted, then a success
    assert health.restarts == 2
    assert health.crashes == 0  # a success resets the backoff
    assert health.last_ok is not None
    crashes = [r for r in caplog.records if r.getMessage().startswith("loop poll:acme crashed")]
    assert len(crashes) == 2
    assert all(getattr(r, "ctx", {}).get("tenant") == "acme" for r in crashes)
    assert all(r.exc_info is not None for r in crashes)


async def test_cancellation_stops_the_loop_and_is_not_a_crash() -> None:
    stop = asyncio.Event()
    started = asyncio.Event()

    async def iteration() -> float:
        started.set()
        await asyncio.sleep(3600)
        return 0.0

    health = LoopHealth("drain")
    task = asyncio.create_task(
        run_supervised("drain", iteration, stop=stop, backoff=QUICK, health=health)
    )
    await asyncio.wait_for(started.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert health.restarts == 0


async def test_the_stop_event_ends_a_loop_waiting_between_iterations() -> None:
    stop = asyncio.Event()
    ran = asyncio.Event()

    async def iteration() -> float:
        ran.set()
        return 3600.0  # would sleep an hour

    task = asyncio.create_task(run_supervised("drain", iteration, stop=stop, backoff=QUICK))
    await asyncio.wait_for(ran.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)


def test_the_restart_backoff_grows_and_is_capped() -> None:
    backoff = RestartBackoff(base=1.0, cap=30.0)
    ceilings = [backoff.ceiling(n) for n in range(1, 9)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff.ceiling(10_000) == 30.0  # no overflow after a long outage
    for crashes in (1, 3, 6, 50):
        delays = [backoff.delay(crashes) for _ in range(200)]
        top = backoff.ceiling(crashes)
        assert all(top / 2 <= d <= top for d in delays)
        assert len(set(delays)) > 1  # jittered: loops that crashed together spread out


async def test_a_supervisor_runs_named_loops_and_cancels_one_without_the_others() -> None:
    stop = asyncio.Event()
    counts = {"a": 0, "b": 0}

    def counting(name: str) -> Iteration:
        async def iteration() -> float:
            counts[name] += 1
            return 0.001

        return iteration

    loops = Supervisor(stop=stop, backoff=QUICK)
    loops.start("a", counting("a"), labels={"tenant": "a"})
    loops.start("b", counting("b"), labels={"tenant": "b"})
    await asyncio.sleep(0.05)
    loops.cancel("a")
    frozen = counts["a"]
    await asyncio.sleep(0.05)
    assert loops.names == {"b"}
    assert counts["a"] <= frozen + 1
    assert counts["b"] > 3
    assert loops.stalled(longer_than=10.0) == []
    stop.set()
    await asyncio.wait_for(loops.wait(), timeout=5)


def test_a_loop_without_success_is_reported_stalled() -> None:
    loops = Supervisor(stop=asyncio.Event(), backoff=QUICK)
    loops.health["poll:acme"] = LoopHealth("poll:acme", started_at=0.0)
    loops.health["poll:beta"] = LoopHealth("poll:beta", started_at=0.0, last_ok=95.0)
    assert loops.stalled(longer_than=30.0, now=100.0) == ["poll:acme"]
