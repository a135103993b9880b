"""WaitClock: the time waited on one system (a writer share's on its org, which the batch
wait counts; a poll's on its Sage agent)."""

from __future__ import annotations

import pytest
from mlc_core.waits import WaitClock

from tests.factories import ManualClock

pytestmark = pytest.mark.unit


def test_only_time_waiting_on_the_org_counts_and_calls_side_by_side_count_once() -> None:
    ticks = ManualClock(100.0)
    clock = WaitClock(now=ticks)
    ticks.now += 5.0  # PostgreSQL, the event loop: not the org's
    with clock.waiting():
        ticks.now += 1.0
        with clock.waiting():  # a second chunk's call, side by side
            ticks.now += 0.5
        ticks.now += 0.25
    ticks.now += 3.0
    assert clock.spent() == pytest.approx(1.75)
    with clock.waiting():
        ticks.now += 0.5
        assert clock.spent() == pytest.approx(2.25)  # the wait under way counts


def test_reaches_says_when_the_wait_under_way_would_pass_a_limit() -> None:
    ticks = ManualClock(100.0)
    clock = WaitClock(now=ticks)
    with clock.waiting():
        ticks.now += 2.0
    assert clock.reaches(3.0) is None  # nothing waits: the time on the org is not growing
    ticks.now = 200.0
    with clock.waiting():
        assert clock.reaches(3.0) == pytest.approx(201.0)
    assert clock.reaches(3.0) is None


def test_on_change_is_told_when_a_wait_on_the_org_begins_and_ends_not_in_between() -> None:
    ticks = ManualClock(100.0)
    seen: list[float | None] = []
    clock = WaitClock(now=ticks)
    clock.on_change = lambda: seen.append(clock.reaches(3.0))
    with clock.waiting():
        ticks.now += 1.0
        with clock.waiting():
            ticks.now += 1.0
        ticks.now += 0.5
    assert seen == [pytest.approx(103.0), None]
    ticks.now += 10.0
    with pytest.raises(RuntimeError), clock.waiting():
        ticks.now += 0.5
        raise RuntimeError("the call failed")  # the wait still ends, and is counted
    assert seen[2:] == [pytest.approx(113.0), None]  # 0.5 s left of 3 when it began
    assert clock.spent() == pytest.approx(3.0)
