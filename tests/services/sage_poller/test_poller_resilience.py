"""A poll that fails while PostgreSQL is down must not end the tenant's polling for good (found
by `make chaos`: recording the failure failed too, the exception escaped, and the tenant was
never polled again while the process lived on). Now the pass ends, the supervisor logs it
naming the tenant and starts the pass again; and one entity's failure is recorded without
keeping the tenant's other entities from being polled."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.supervise import RestartBackoff, Supervisor
from sage_poller.deps import PollerDeps, PollOptions
from sage_poller.loops import TenantLoop, loop_name
from sage_poller.schedule import PollTiming, SchedulePolicy


class Store:
    """Records statuses; `down` while PostgreSQL is restarting (every call fails)."""

    def __init__(self, *, down: bool) -> None:
        self.down = down
        self.statuses: list[tuple[Entity, bool, str | None]] = []

    async def record_status(
        self,
        tenant_id: str,
        entity: Entity,
        *,
        ok: bool,
        error: str | None = None,
        timing: PollTiming | None = None,
    ) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed")
        self.statuses.append((entity, ok, error))


def deps(store: Store) -> PollerDeps:
    return PollerDeps(
        pool=None,  # type: ignore[arg-type]
        keyring=KeyRing.parse(generate_key_text("t")),
        http=None,  # type: ignore[arg-type]
        store=store,  # type: ignore[arg-type]
        publisher=None,  # type: ignore[arg-type]
        outbox=None,  # type: ignore[arg-type]
        sync_store=None,  # type: ignore[arg-type]
        options=PollOptions(overlap_seconds=60, page_size=100, attempts=1),
        agents=None,  # type: ignore[arg-type]
    )


class FlakyLoop(TenantLoop):
    """Polls fail for `failing` entities; a pass polls `entities` (no Sage, no database)."""

    def __init__(self, store: Store, failing: set[Entity], entities: list[Entity]) -> None:
        super().__init__("acme", deps=deps(store), policy=SchedulePolicy(every=3600), idle_cap=1)
        self.failing, self.entities = failing, entities
        self.polled: list[Entity] = []
        self.tenant = type("T", (), {"tenant_id": "acme"})()

    async def run_one(self, tenant: Any, entity: Entity, what: str, **_: Any) -> None:
        if entity in self.failing:
            raise ConnectionRefusedError(111, "Connect call failed")
        self.polled.append(entity)

    async def run_due(self) -> list[Entity]:
        for entity in self.schedule.due_polls(self.entities, 0.0):
            await self.guarded(self.tenant, entity, "poll")
            self.schedule.polled(entity, started=0.0)
        return self.entities


async def test_one_entitys_failure_is_recorded_and_the_others_are_polled() -> None:
    store = Store(down=False)
    loop = FlakyLoop(store, {Entity.AR_CUSTOMER}, [Entity.AR_CUSTOMER, Entity.AP_VENDOR])

    await loop.iteration()

    assert loop.polled == [Entity.AP_VENDOR]
    failed = [(e, ok) for e, ok, _ in store.statuses]
    assert failed == [(Entity.AR_CUSTOMER, False), (Entity.AP_VENDOR, True)]
    assert "ConnectionRefusedError" in str(store.statuses[0][2])


async def test_a_failure_that_cannot_be_recorded_restarts_the_tenants_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store(down=True)
    loop = FlakyLoop(store, {Entity.AR_CUSTOMER}, [Entity.AR_CUSTOMER])
    stop = asyncio.Event()
    loops = Supervisor(stop=stop, backoff=RestartBackoff(base=0.01, cap=0.02))

    with caplog.at_level(logging.ERROR):
        loops.start(loop_name("acme"), loop.iteration, labels={"tenant": "acme"})
        await asyncio.sleep(0.1)
        assert loops.health[loop_name("acme")].restarts >= 2  # PostgreSQL still down
        store.down = False  # PostgreSQL is back: the same loop records the failure now
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(loops.wait(), timeout=5)

    assert (Entity.AR_CUSTOMER, False) in [(e, ok) for e, ok, _ in store.statuses]
    crashes = [r for r in caplog.records if r.getMessage().startswith("loop poll:acme crashed")]
    assert crashes and all(r.ctx["tenant"] == "acme" for r in crashes)  # type: ignore[attr-defined]


def test_a_failed_poll_is_retried_by_itself_with_growing_backoff_up_to_its_cadence() -> None:
    from sage_poller.schedule import Schedule

    schedule = Schedule(SchedulePolicy(every=600, retry_base=30))
    waits = [schedule.poll_failed(Entity.AR_CUSTOMER, 0.0) for _ in range(7)]
    assert waits == [30, 60, 120, 240, 480, 600, 600]
    assert schedule.next_poll[Entity.AR_CUSTOMER] == 600
    schedule.polled(Entity.AR_CUSTOMER, started=1000.0)  # a success resets the backoff
    assert schedule.poll_failed(Entity.AR_CUSTOMER, 1000.0) == 30


class SlowLoop(TenantLoop):
    """Every poll takes `poll_s` on a clock of its own (no Sage, no database)."""

    def __init__(self, poll_s: float) -> None:
        self.now = 0.0
        super().__init__(
            "acme",
            deps=deps(Store(down=False)),
            policy=SchedulePolicy(every=120),
            idle_cap=1,
            clock=lambda: self.now,
        )
        self.poll_s = poll_s
        self.started: list[tuple[Entity, float]] = []

    async def run_one(self, tenant: Any, entity: Entity, what: str, **_: Any) -> None:
        if what == "poll":
            self.started.append((entity, self.now))
            self.now += self.poll_s


async def test_a_slow_poll_does_not_stretch_the_cadence() -> None:
    """The next poll is due on the tenant's next slot, an interval after one that began on its
    slot: 50 s polls every 120 s begin 120 s apart (counted from their ends they began 170 s
    apart, and a change just missed waited 220 s, not 170)."""
    loop = SlowLoop(poll_s=50.0)
    tenant = type("T", (), {"tenant_id": "acme"})()
    customers, vendors = Entity.AR_CUSTOMER, Entity.AP_VENDOR
    await loop.run_scheduled(tenant, [customers, vendors])  # type: ignore[arg-type]
    assert loop.started == [(customers, 0.0), (vendors, 50.0)]
    slot = loop.schedule.next_poll[customers]
    assert 0.0 < slot <= 120.0  # the tenant's first slot: at most an interval away
    assert 50.0 < loop.schedule.next_poll[vendors] <= 170.0

    loop.now = slot
    await loop.run_scheduled(tenant, [customers])  # type: ignore[arg-type]
    assert loop.started[-1] == (customers, slot)
    assert loop.schedule.next_poll[customers] == pytest.approx(slot + 120.0)  # not + 170
    loop.now = slot + 400.0  # a poll longer than its interval: the next is due at once
    loop.poll_s = 300.0
    await loop.run_scheduled(tenant, [customers])  # type: ignore[arg-type]
    assert loop.schedule.sleep_for([customers], loop.now, cap=60) == 0.0
