"""Polls on each tenant's slots (schedule.py): tenants whose loops start together spread their
polls over the interval, no gap between two polls is longer than the interval, and a late poll
does not move the slots."""

from __future__ import annotations

from collections import Counter

import pytest
from mlc_core.contracts import Entity
from sage_poller.loops import TenantLoop
from sage_poller.schedule import Schedule, SchedulePolicy, next_slot, tenant_phase

INTERVAL = 120.0
CUSTOMERS = [Entity.AR_CUSTOMER]


def second_polls(phases: list[float | None], *, started: float) -> list[float]:
    """When each tenant's second poll is due, their first polls having begun together."""
    due = []
    for phase in phases:
        schedule = Schedule(SchedulePolicy(every=INTERVAL), phase=phase)
        schedule.polled(Entity.AR_CUSTOMER, started=started)
        due.append(schedule.next_poll[Entity.AR_CUSTOMER])
    return due


def test_a_thousand_tenants_started_together_spread_their_polls_over_the_interval() -> None:
    phases: list[float | None] = [tenant_phase(f"fair-{n:04d}") for n in range(1000)]
    due = second_polls(phases, started=5000.0)
    tenths = Counter(int((t - 5000.0) // (INTERVAL / 10)) for t in due)
    assert sorted(tenths) == list(range(10))
    assert all(60 <= n <= 140 for n in tenths.values()), tenths  # 100 each if uniform
    # Without a phase every tenant's next poll is the same instant: the herd stays together.
    assert set(second_polls([None] * 1000, started=5000.0)) == {5000.0 + INTERVAL}


@pytest.mark.parametrize("tenant", ["acme", "fair-0536", "t" * 64])
def test_no_gap_between_polls_is_longer_than_the_interval_and_late_ones_keep_the_slots(
    tenant: str,
) -> None:
    schedule = Schedule(SchedulePolicy(every=INTERVAL), phase=tenant_phase(tenant))
    started, gaps, lateness = 1234.5, [], [0.0, 7.5, 0.0, 31.0, 0.2, 119.0, 0.0]
    schedule.polled(Entity.AR_CUSTOMER, started=started)  # the first poll, at any time
    slot = schedule.next_poll[Entity.AR_CUSTOMER]
    for late in lateness:
        due = schedule.next_poll[Entity.AR_CUSTOMER]
        assert due == pytest.approx(slot)  # a poll that began late did not move the slots
        began = due + late
        gaps.append(began - started)
        schedule.polled(Entity.AR_CUSTOMER, started=began)
        started, slot = began, slot + INTERVAL
    assert max(gaps) <= INTERVAL + max(lateness) + 1e-9
    assert all(gap <= INTERVAL + late for gap, late in zip(gaps[1:], lateness[1:], strict=True))


def test_a_poll_that_outlasts_its_interval_is_followed_at_once() -> None:
    schedule = Schedule(SchedulePolicy(every=INTERVAL), phase=tenant_phase("acme"))
    schedule.polled(Entity.AR_CUSTOMER, started=100.0)
    assert schedule.due_polls(CUSTOMERS, 100.0 + INTERVAL + 0.001) == CUSTOMERS


def test_reconciliations_fall_on_the_tenants_slots_half_an_interval_apart_at_least() -> None:
    policy = SchedulePolicy(every=INTERVAL, reconcile_every=3600.0)
    due = set()
    for n in range(20):
        schedule = Schedule(policy, phase=tenant_phase(f"tenant-{n}"))
        schedule.reconciled(Entity.AR_CUSTOMER, 50.0)  # the first, at any time
        at = schedule.next_reconcile[Entity.AR_CUSTOMER]
        assert 50.0 + 1800.0 < at <= 50.0 + 5400.0  # a pause of half an interval at least
        due.add(round(at))
        schedule.reconciled(Entity.AR_CUSTOMER, at + 600.0)  # on its slot, a 10-minute scan
        assert schedule.next_reconcile[Entity.AR_CUSTOMER] == pytest.approx(at + 3600.0)
    assert len(due) == 20


def test_next_slot_is_strictly_later_and_at_most_an_interval_away() -> None:
    for phase in (0.0, 0.25, 0.999):
        slots = [next_slot(t / 7, 30.0, phase) for t in range(0, 2000)]
        assert all(0 < s - t / 7 <= 30.0 for t, s in enumerate(slots))
        assert {round((s / 30.0 - phase) % 1, 6) % 1 for s in slots} == {0.0}  # on the grid
    assert next_slot(10.0, 30.0, None) == 40.0


def test_a_tenants_loop_polls_on_that_tenants_phase() -> None:
    loops = [
        TenantLoop(t, deps=None, policy=SchedulePolicy(), idle_cap=30.0)  # type: ignore[arg-type]
        for t in ("acme", "globex")
    ]
    assert [loop.schedule.phase for loop in loops] == [tenant_phase("acme"), tenant_phase("globex")]
    assert tenant_phase("acme") != tenant_phase("globex")
    assert 0.0 <= tenant_phase("acme") < 1.0
