"""sage-poller: polls each tenant's Sage 100 on the audit stamps and emits raw change events."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import httpx
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.kafka import Publisher, create_producer, prepare_topics
from mlc_core.logging import ctx
from mlc_core.runtime import keyring_from, run_service, sleep_or_stop
from mlc_core.sage.agent import SageAgentClient
from mlc_core.sage.errors import SageError, SageRetryableError
from mlc_core.settings import CommonSettings
from mlc_core.tenants import Tenant, list_tenants, load_tenant

from sage_poller.handlers import DEFAULT_PAGE_SIZE, poll_entity, reconcile_entity
from sage_poller.outbox import OutboxRelay
from sage_poller.requests import SyncRunner, soap_only_cycle
from sage_poller.retry import PollGaveUp, Retrier
from sage_poller.schedule import Schedule, SchedulePolicy
from sage_poller.store import PollerStore
from sage_poller.sync import SyncStore

log = logging.getLogger("sage_poller")


class PollerSettings(CommonSettings):
    # One interval for every entity when set (dev stacks, tests); otherwise the per-entity
    # defaults in schedule.py, each overridable in MLC_POLL_INTERVALS ('{"ap_vendor": 1800}').
    poll_interval_seconds: float | None = None
    poll_intervals: dict[str, float] = {}
    reconcile_interval_seconds: float = 3600.0
    poll_overlap_seconds: float = 120.0
    poll_page_size: int = DEFAULT_PAGE_SIZE
    poll_attempts: int = 5
    tenant_refresh_seconds: float = 30.0

    def schedule_policy(self) -> SchedulePolicy:
        return SchedulePolicy(
            overrides=dict(self.poll_intervals),
            every=self.poll_interval_seconds,
            reconcile_every=self.reconcile_interval_seconds,
        )


async def serve(stop: asyncio.Event, settings: PollerSettings | None = None) -> None:
    settings = settings or PollerSettings()
    keyring = keyring_from(settings)
    pool = await create_pool(
        settings.database_url.get_secret_value(), retry_for=SERVICE_CONNECT_RETRY_S
    )
    producer = create_producer(settings.kafka_bootstrap, client_id="mlc-sage-poller")
    await prepare_topics(settings.kafka_bootstrap)
    await producer.start()
    http = httpx.AsyncClient(timeout=60)
    poller = TenantPoller(
        settings=settings,
        pool=pool,
        keyring=keyring,
        http=http,
        store=PollerStore(pool),
        publisher=Publisher(producer),
        stop=stop,
    )
    try:
        await poller.supervise()
    finally:
        await http.aclose()
        await producer.stop()
        await pool.close()


class TenantPoller:
    """One polling loop per tenant, so a slow or broken tenant never delays another."""

    def __init__(
        self,
        *,
        settings: PollerSettings,
        pool: asyncpg.Pool,
        keyring: KeyRing,
        http: httpx.AsyncClient,
        store: PollerStore,
        publisher: Publisher,
        stop: asyncio.Event,
    ) -> None:
        self.settings, self.pool, self.keyring, self.http = settings, pool, keyring, http
        self.store, self.publisher, self.stop = store, publisher, stop
        self.outbox = OutboxRelay(pool, publisher)
        self.requests = SyncRunner(
            overlap_seconds=settings.poll_overlap_seconds,
            page_size=settings.poll_page_size,
            attempts=settings.poll_attempts,
            http=http,
            store=store,
            outbox=self.outbox,
            publisher=publisher,
            sync_store=SyncStore(pool),
        )
        self.loops: dict[str, asyncio.Task[None]] = {}

    async def supervise(self) -> None:
        while not self.stop.is_set():
            try:
                tenants = {t.tenant_id for t in await list_tenants(self.pool, keyring=self.keyring)}
            except Exception:  # PostgreSQL restarting: keep the running loops, look again later
                log.exception("cannot list tenants")
                tenants = set(self.loops)
            for tenant_id in tenants - self.loops.keys():
                self.loops[tenant_id] = asyncio.create_task(self.tenant_loop(tenant_id))
            for tenant_id in self.loops.keys() - tenants:
                self.loops.pop(tenant_id).cancel()
            await sleep_or_stop(self.stop, self.settings.tenant_refresh_seconds)
        await asyncio.gather(*self.loops.values(), return_exceptions=True)

    async def tenant_loop(self, tenant_id: str) -> None:
        schedule = Schedule(self.settings.schedule_policy())
        while not self.stop.is_set():
            entities = await self.run_due(tenant_id, schedule)
            pause = schedule.sleep_for(
                entities, time.monotonic(), self.settings.tenant_refresh_seconds
            )
            await sleep_or_stop(self.stop, max(pause, 0.2))

    async def run_due(self, tenant_id: str, schedule: Schedule) -> list[Entity]:
        try:
            tenant = await load_tenant(self.pool, keyring=self.keyring, tenant_id=tenant_id)
        except Exception:
            log.exception("cannot load tenant", extra=ctx(tenant=tenant_id))
            return []
        entities = list(tenant.config.entities)
        schedule.use_cadences(tenant.config.cadences)
        if not await self.relay_leftovers(tenant_id):
            return entities
        await self.requests.run_pending(tenant)
        if not tenant.config.sage.agent_url:
            await soap_only_cycle(tenant, schedule, self.store)
            return entities
        for entity in schedule.due_polls(entities, time.monotonic()):
            await self.guarded(tenant, entity, "poll")
            schedule.polled(entity, time.monotonic())
        for entity in schedule.due_reconciles(entities, time.monotonic()):
            await self.guarded(tenant, entity, "reconcile")
            schedule.reconciled(entity, time.monotonic())
        return entities

    async def relay_leftovers(self, tenant_id: str) -> bool:
        """Events a crash left in the outbox go out before anything newer; False while Kafka
        refuses them (polling on would only queue more behind them)."""
        try:
            await self.outbox.drain(tenant_id)
        except Exception:
            log.exception("outbox relay failed", extra=ctx(tenant=tenant_id))
            return False
        return True

    async def guarded(self, tenant: Tenant, entity: Entity, what: str) -> None:
        """One poll or reconciliation; its failure is logged and recorded, never raised."""
        tenant_id = tenant.tenant_id
        try:
            await self.run_one(tenant, entity, what)
            await self.store.record_status(tenant_id, entity, ok=True)
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
            await self.note_failure(tenant_id, entity, f"{what}: {exc}")
        except Exception as exc:
            log.exception(
                "%s failed unexpectedly", what, extra=ctx(tenant=tenant_id, entity=entity)
            )
            await self.note_failure(tenant_id, entity, f"{what}: {exc!r}")

    async def note_failure(self, tenant_id: str, entity: Entity, error: str) -> None:
        # Best effort: when PostgreSQL itself is what failed, raising here would end this
        # tenant's loop for good (nothing restarts it) while the process lives on.
        try:
            await self.store.record_status(tenant_id, entity, ok=False, error=error)
        except Exception:
            log.exception("cannot record the failure", extra=ctx(tenant=tenant_id, entity=entity))

    async def run_one(self, tenant: Tenant, entity: Entity, what: str) -> None:
        agent = SageAgentClient(
            self.http,
            base_url=tenant.config.sage.agent_url,
            token=tenant.secrets.sage_agent_token.get_secret_value(),
        )
        retrier = Retrier(
            tenant.tenant_id, entity, self.publisher, attempts=self.settings.poll_attempts
        )
        if what == "poll":
            await poll_entity(
                tenant=tenant,
                entity=entity,
                agent=agent,
                store=self.store,
                outbox=self.outbox,
                overlap_seconds=self.settings.poll_overlap_seconds,
                retrier=retrier,
                page_size=self.settings.poll_page_size,
            )
        else:
            await reconcile_entity(
                tenant=tenant,
                entity=entity,
                agent=agent,
                store=self.store,
                outbox=self.outbox,
                retrier=retrier,
                page_size=self.settings.poll_page_size,
            )


def run() -> None:
    settings = PollerSettings()
    run_service("sage-poller", settings, lambda stop: serve(stop, settings))
