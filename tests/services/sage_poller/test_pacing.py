"""The pacer's rules (pacing.py) with a scripted backlog: pages wait while the backlog is at
or above the bound, go when it falls, go when it cannot be read, and wait no longer than the
cap; waiting beats the loop's health; one reading serves concurrent loops."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from mlc_core.contracts import Topics
from sage_poller.pacing import Pacer


class Scripted:
    """Answers each reading with the next scripted value (the last one repeats)."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers, self.reads = list(answers), 0

    async def active_lag(self, groups: Mapping[str, Topics | None]) -> int:
        answer = self.answers[min(self.reads, len(self.answers) - 1)]
        self.reads += 1
        await asyncio.sleep(0.01)  # a round trip: other loops ask meanwhile
        if isinstance(answer, Exception):
            raise answer
        return answer


def pacer(reader: Scripted, **kwargs: float) -> Pacer:
    options = {"check_every_s": 0.001, "max_wait_s": 5.0} | kwargs
    return Pacer(reader, max_backlog=100, **options)  # type: ignore[arg-type]


async def test_a_page_waits_until_the_backlog_falls_below_the_bound() -> None:
    reader = Scripted(250, 180, 100, 99)
    await pacer(reader).admit(tenant_id="t")
    assert reader.reads == 4  # 100 is not below the bound: it waited for 99


async def test_an_unreadable_backlog_lets_the_page_go() -> None:
    reader = Scripted(ConnectionError("broker restarting"))
    await pacer(reader).admit(tenant_id="t")
    assert reader.reads == 1


async def test_a_page_waits_no_longer_than_the_cap(caplog: pytest.LogCaptureFixture) -> None:
    reader = Scripted(5000)
    waited = await pacer(reader, max_wait_s=0.05).admit(tenant_id="t")
    assert waited >= 0.05
    assert "page sent unpaced" in caplog.text


async def test_waiting_beats_the_loops_health() -> None:
    beats = 0

    async def beat() -> None:
        nonlocal beats
        beats += 1

    await pacer(Scripted(500, 500, 500, 0)).admit(tenant_id="t", beat=beat)
    assert beats == 3


async def test_one_reading_serves_loops_asking_at_once() -> None:
    reader = Scripted(0)
    shared = pacer(reader, check_every_s=60)
    await asyncio.gather(*(shared.admit(tenant_id=f"t{i}") for i in range(10)))
    assert reader.reads == 1
    await shared.admit(tenant_id="later")  # a later call wants a reading taken after it began
    assert reader.reads == 2
