"""One supervised polling loop per tenant, so a slow or broken tenant never delays another.

Each pass of a tenant's loop relays what a crash left in its outbox, runs its `mlc sync`
requests, then the polls and key reconciliations its schedule says are due. A pass that
crashes (PostgreSQL restarting, Kafka refusing the outbox) is restarted by the supervisor
after a backoff; one poll's failure is recorded in the entity's status and the pass goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from mlc_core.contracts import Entity
from mlc_core.logging import ctx
from mlc_core.sage.errors import SageError, SageRetryableError
from mlc_core.supervise import LoopHealth, Supervisor
from mlc_core.tenants import Tenant, list_tenants, load_tenant

from sage_poller.deps import PollerDeps
from sage_poller.handlers import PollResult, poll_entity, reconcile_entity
from sage_poller.requests import SyncRunner, soap_only_cycle
from sage_poller.retry import PollGaveUp
from sage_poller.schedule import PollStart, Schedule, SchedulePolicy, tenant_phase

log = logging.getLogger("sage_poller")
MIN_PAUSE_S = 0.2  # between passes, even when something is due at once


class TenantLoop:
    """One tenant's polling: `iteration` is one pass, run again and again by the supervisor."""

    def __init__(
        self,
        tenant_id: str,
        *,
        deps: PollerDeps,
        policy: SchedulePolicy,
        idle_cap: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tenant_id = tenant_id
        self.deps = deps
        self.schedule = Schedule(policy, phase=tenant_phase(tenant_id))
        self.requests = SyncRunner(deps=deps)
        self.idle_cap = idle_cap
        self.clock = clock
        self.health: LoopHealth | None = None  # the supervisor's record, beaten at each page
        # When each entity's last successful poll began (UTC): the next one's stamp listing
        # starts from there (listing.listing_since); empty after a restart, which costs one
        # wider listing, nothing else.
        self.poll_started: dict[Entity, datetime] = {}

    async def iteration(self) -> float:
        """One pass; returns how long to wait before the next one."""
        entities = await self.run_due()
        pause = self.schedule.sleep_for(entities, self.clock(), self.idle_cap)
        return max(pause, MIN_PAUSE_S)

    async def run_due(self) -> list[Entity]:
        deps = self.deps
        tenant = await load_tenant(deps.pool, keyring=deps.keyring, tenant_id=self.tenant_id)
        entities = list(tenant.config.entities)
        self.schedule.use_cadences(tenant.config.cadences)
        # Events a crash left in the outbox go out before anything newer; while Kafka refuses
        # them this raises, and the pass is retried later (polling on would queue more).
        await deps.outbox.drain_left(self.tenant_id)
        await self.requests.run_pending(tenant)
        if not tenant.config.sage.agent_url:
            await soap_only_cycle(tenant, self.schedule, deps.store)
            return entities
        await self.run_scheduled(tenant, entities)
        return entities

    async def run_scheduled(self, tenant: Tenant, entities: list[Entity]) -> None:
        """The polls, then the key reconciliations, that are due now."""
        for entity in self.schedule.due_polls(entities, self.clock()):
            start = self.schedule.start(entity, self.clock(), datetime.now(UTC))
            if await self.guarded(tenant, entity, "poll", start=start):
                self.schedule.polled(entity, started=start.monotonic)
            else:
                self.schedule.poll_failed(entity, self.clock())
        for entity in self.schedule.due_reconciles(entities, self.clock()):
            if await self.guarded(tenant, entity, "reconcile"):
                self.schedule.reconciled(entity, self.clock())
            else:
                self.schedule.reconcile_failed(entity, self.clock())

    async def guarded(
        self,
        tenant: Tenant,
        entity: Entity,
        what: str,
        *,
        start: PollStart | None = None,
    ) -> bool:
        """One poll or reconciliation; whether it succeeded. Its failure is logged and recorded
        in the entity's status (`mlc status` shows it), and the tenant's other entities are
        polled all the same. Only a failure to record it (PostgreSQL down) ends the pass, for
        the supervisor to restart."""
        tenant_id = tenant.tenant_id
        try:
            await self.run_one(tenant, entity, what, start=start)
        except (SageError, PollGaveUp) as exc:
            retryable = isinstance(exc, SageRetryableError | PollGaveUp)
            log.error(
                "%s failed: %s",
                what,
                exc,
                extra=ctx(
                    tenant=tenant_id, entity=entity, error=type(exc).__name__, retryable=retryable
                ),
            )
            error = f"{what}: {exc}"
        except Exception as exc:  # a bug hit by one entity's data must not stop the others
            log.exception(
                "%s failed unexpectedly", what, extra=ctx(tenant=tenant_id, entity=entity)
            )
            error = f"{what}: {exc!r}"
        else:
            timing = start.done(self.clock()) if start else None
            await self.deps.store.record_status(tenant_id, entity, ok=True, timing=timing)
            return True
        await self.deps.store.record_status(tenant_id, entity, ok=False, error=error)
        return False

    async def run_one(
        self, tenant: Tenant, entity: Entity, what: str, *, start: PollStart | None = None
    ) -> None:
        agent = self.deps.agents.client(tenant)  # pinned certificate when the tenant has one
        io = self.deps.io(tenant, entity, agent, on_sage=start.on_sage if start else None)
        if what == "poll":
            overlap = self.deps.options.overlap_seconds
            started = start.at if start else datetime.now(UTC)
            await poll_entity(
                tenant=tenant,
                entity=entity,
                io=io,
                overlap_seconds=overlap,
                progress=self.paged,
                previous_start=self.poll_started.get(entity),
            )
            self.poll_started[entity] = started
        else:
            await reconcile_entity(tenant=tenant, entity=entity, io=io)

    async def paged(self, _: PollResult) -> None:
        """A page is done: a long initial load is progress, not a stalled loop (/healthz)."""
        if self.health is not None:
            self.health.beat()


class TenantLoops:
    """Keeps one supervised loop per configured tenant: starts new tenants' loops, cancels
    removed tenants' loops."""

    def __init__(
        self, *, deps: PollerDeps, loops: Supervisor, policy: SchedulePolicy, refresh: float
    ) -> None:
        self.deps, self.loops, self.policy, self.refresh = deps, loops, policy, refresh

    async def iteration(self) -> float:
        """One look at the tenant list; returns when to look again."""
        found = await list_tenants(self.deps.pool, keyring=self.deps.keyring)
        tenants = {t.tenant_id for t in found}
        for tenant_id in tenants - self.running:
            loop = TenantLoop(tenant_id, deps=self.deps, policy=self.policy, idle_cap=self.refresh)
            self.loops.start(loop_name(tenant_id), loop.iteration, labels={"tenant": tenant_id})
            loop.health = self.loops.health.get(loop_name(tenant_id))
        for tenant_id in self.running - tenants:
            self.loops.cancel(loop_name(tenant_id))
        return self.refresh

    @property
    def running(self) -> set[str]:
        prefix = loop_name("")
        return {n.removeprefix(prefix) for n in self.loops.names if n.startswith(prefix)}


def loop_name(tenant_id: str) -> str:
    return f"poll:{tenant_id}"
