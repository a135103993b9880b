"""The pacer's rules (pacing.py) with a scripted backlog: pages wait while the backlog is at
or above the bound, go when it falls, go when it cannot be read, and wait no longer than the
cap; waiting beats the loop's health; one reading serves concurrent loops. Paced by time, the
bound is seconds of the pace measured from the groups' progress, within its floor and cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import pytest
from mlc_core.contracts import Topics
from mlc_core.lag import Progress
from sage_poller.pacing import Pace, Pacer, paced_bound


class Scripted:
    """Answers each reading with the next scripted backlog (the last one repeats); the groups
    do `done_per_read` more events between readings."""

    def __init__(self, *answers: int | Exception, done_per_read: int = 0) -> None:
        self.answers, self.reads, self.done_per_read = list(answers), 0, done_per_read

    async def active_progress(self, groups: Mapping[str, Topics | None]) -> Progress:
        answer = self.answers[min(self.reads, len(self.answers) - 1)]
        self.reads += 1
        await asyncio.sleep(0.01)  # a round trip: other loops ask meanwhile
        if isinstance(answer, Exception):
            raise answer
        return Progress(waiting=answer, done=self.reads * self.done_per_read)


def pacer(reader: Scripted, **kwargs: float) -> Pacer:
    options = {"check_every_s": 0.001, "max_wait_s": 5.0} | kwargs
    return Pacer(reader, max_backlog=100, **options)  # type: ignore[arg-type]


async def test_a_page_waits_until_the_backlog_falls_below_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    reader = Scripted(250, 180, 100, 99)
    await pacer(reader).admit(tenant_id="t")
    assert reader.reads == 4  # 100 is not below the bound: it waited for 99
    reports = [r for r in caplog.records if r.getMessage() == "pages paced"]
    assert len(reports) == 1  # what it waited for, once per REPORT_EVERY_S
    fields = reports[0].ctx  # type: ignore[attr-defined]
    assert (fields["backlog"], fields["bound"]) == (250, 100)


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


def test_the_pace_is_what_the_readings_span_did_per_second() -> None:
    pace = Pace(span_s=10)
    pace.add(0.0, 1000)
    pace.add(4.0, 3000)
    assert pace.per_second() is None  # under half the span: not yet a pace
    pace.add(6.0, 4000)
    assert pace.per_second() == 500.0
    pace.add(20.0, 4000)  # the readings before 10 s ago are gone: nothing done since
    assert pace.per_second() is None
    pace.add(26.0, 7000)
    assert pace.per_second() == 500.0


def test_offsets_moved_back_start_a_new_pace() -> None:
    pace = Pace(span_s=10)
    pace.add(0.0, 90_000)
    pace.add(6.0, 100_000)
    pace.add(7.0, 10)  # a replay reset the groups' offsets
    assert pace.per_second() is None
    pace.add(12.0, 510)
    assert pace.per_second() == 100.0


def test_the_paced_bound_is_seconds_of_the_pace_within_its_floor_and_cap() -> None:
    assert paced_bound(800.0, seconds=3, floor=1000, cap=6000) == 2400
    assert paced_bound(2400.0, seconds=3, floor=1000, cap=6000) == 6000
    assert paced_bound(100.0, seconds=3, floor=1000, cap=6000) == 1000
    assert paced_bound(None, seconds=3, floor=1000, cap=6000) == 1000
    assert paced_bound(None, seconds=3, floor=1000, cap=500) == 500  # the cap wins


async def test_paced_by_time_a_page_waits_for_the_floor_while_no_pace_is_known() -> None:
    # The cap is 1,000 and 150 events wait: by count alone the page would go at once. No pace
    # is known yet (the readings span too little), so the bound is the floor, 100.
    reader = Scripted(150, 150, 120, 99)
    paced = Pacer(reader, max_backlog=1000, seconds=3, min_backlog=100, check_every_s=0.001)
    await paced.admit(tenant_id="t")
    assert reader.reads == 4


def test_paced_by_time_the_bound_follows_the_measured_pace() -> None:
    paced = Pacer(Scripted(0), max_backlog=6000, seconds=3, min_backlog=1000)
    assert paced.bound() == 1000
    now = time.monotonic()
    paced.pace.add(now - 8, 10_000)
    paced.pace.add(now, 16_000)  # 750 events a second
    assert paced.bound() == 2250
    paced.pace.add(now + 2, 36_000)  # 2,600 a second over the span: 3 s of it is past the cap
    assert paced.bound() == 6000
    assert Pacer(Scripted(0), max_backlog=6000).bound() == 6000  # not by time: the cap
