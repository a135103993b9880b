"""run_until_stopped: the stop is honoured within its grace, whatever the work does."""

from __future__ import annotations

import asyncio
import time

import pytest
from mlc_core.runtime import StopOverdue, run_until_stopped


async def test_work_that_ends_at_the_stop_ends_cleanly() -> None:
    stop = asyncio.Event()

    async def work() -> None:
        await stop.wait()

    asyncio.get_running_loop().call_later(0.05, stop.set)
    await run_until_stopped(work(), stop, grace=5, cancel_grace=5)


async def test_work_that_ignores_the_stop_is_cancelled_after_the_grace() -> None:
    stop, cancelled = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(3600)  # a send to a Kafka that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise

    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    await run_until_stopped(work(), stop, grace=0.3, cancel_grace=1)
    assert cancelled.is_set() and time.monotonic() - started < 1.5


async def test_work_that_ignores_its_cancellation_is_overdue() -> None:
    stop = asyncio.Event()
    release = asyncio.Event()

    async def work() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # swallows it: the process must exit regardless

    stop.set()
    with pytest.raises(StopOverdue):
        await run_until_stopped(work(), stop, grace=0.1, cancel_grace=0.1)
    release.set()


async def test_a_failure_of_the_work_is_raised() -> None:
    async def work() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await run_until_stopped(work(), asyncio.Event())
