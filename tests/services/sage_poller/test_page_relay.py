"""PageRelay (pure scheduling, a stand-in relay): one drain in flight, each started after its
page's commit; a drain's failure surfaces at the next page or at the end; cancelling the poll
stops the running drain; a running drain can use the next page's queued events."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from mlc_core.contracts import Envelope
from sage_poller.outbox import OutboxRelay, Queued, page_relay


class Boom(Exception):
    pass


class SlowRelay:
    """drain() takes until released; records overlap, order and what it could look up."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.started: list[int] = []
        self.running = 0
        self.most_at_once = 0
        self.release = asyncio.Event()
        self.cancelled = 0
        self.fail_on = fail_on
        self.seen: list[Queued] = []

    async def drain(self, tenant_id: str, queued: Queued | None = None) -> int:
        number = len(self.started) + 1
        self.started.append(number)
        self.seen.append(queued or {})
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1
        if number == self.fail_on:
            raise Boom
        return number


def queued(*names: str) -> Queued:
    return {name.encode(): cast(Envelope, object()) for name in names}


def relay_of(fake: SlowRelay) -> OutboxRelay:
    return cast(OutboxRelay, fake)


async def test_one_drain_at_a_time_and_the_last_one_awaited() -> None:
    fake = SlowRelay()

    async def poll() -> None:
        async with page_relay(relay_of(fake), "t1") as relay:
            for page in range(3):
                await relay.page_committed(queued(f"p{page}"))

    task = asyncio.create_task(poll())
    await asyncio.sleep(0.05)
    assert fake.started == [1] and not task.done()  # page 2 waits for page 1's drain
    fake.release.set()
    await task
    assert fake.started == [1, 2, 3] and fake.most_at_once == 1 and fake.running == 0


async def test_the_running_drain_can_use_the_next_pages_events() -> None:
    fake = SlowRelay()
    async with page_relay(relay_of(fake), "t1") as relay:
        await relay.page_committed(queued("a"))
        await asyncio.sleep(0.01)  # drain 1 is running
        second = asyncio.create_task(relay.page_committed(queued("b")))
        await asyncio.sleep(0.01)
        assert set(fake.seen[0]) == {b"a", b"b"}  # drain 1 may reach page 2's rows
        fake.release.set()
        await second
    assert set(fake.seen[1]) == {b"b"}  # drain 2 holds only what may still be queued


async def test_a_failed_drain_surfaces_at_the_next_page() -> None:
    fake = SlowRelay(fail_on=1)
    fake.release.set()
    reached: list[int] = []
    with pytest.raises(Boom):
        async with page_relay(relay_of(fake), "t1") as relay:
            for page in range(3):
                await relay.page_committed()
                reached.append(page)
    assert reached == [0] and fake.started == [1]  # page 2 never started its drain


async def test_a_failed_last_drain_fails_the_poll() -> None:
    fake = SlowRelay(fail_on=1)
    fake.release.set()
    with pytest.raises(Boom):
        async with page_relay(relay_of(fake), "t1") as relay:
            await relay.page_committed()


async def test_a_poll_error_waits_for_the_drain_and_keeps_its_own_error() -> None:
    fake = SlowRelay(fail_on=1)

    async def poll() -> Any:
        async with page_relay(relay_of(fake), "t1") as relay:
            await relay.page_committed()
            raise ValueError("agent unreachable")

    task = asyncio.create_task(poll())
    await asyncio.sleep(0.05)
    assert not task.done()  # the committed page's drain is given its time
    fake.release.set()
    with pytest.raises(ValueError, match="agent unreachable"):
        await task


async def test_cancelling_the_poll_stops_the_running_drain() -> None:
    fake = SlowRelay()

    async def poll() -> None:
        async with page_relay(relay_of(fake), "t1") as relay:
            await relay.page_committed()
            await asyncio.sleep(60)

    task = asyncio.create_task(poll())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert fake.cancelled == 1 and fake.running == 0
