"""sage-poller: polls each tenant's Sage 100 on the audit stamps and emits raw change events."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import httpx
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool
from mlc_core.kafka import Publisher, create_producer, ensure_topics
from mlc_core.logging import ctx
from mlc_core.runtime import keyring_from, run_service, sleep_or_stop
from mlc_core.sage.agent import SageAgentClient
from mlc_core.sage.errors import SageError
from mlc_core.settings import CommonSettings
from mlc_core.tenants import list_tenants, load_tenant

from sage_poller.handlers import poll_entity
from sage_poller.store import PollerStore

log = logging.getLogger("sage_poller")


class PollerSettings(CommonSettings):
    poll_interval_seconds: float = 900.0
    poll_overlap_seconds: float = 120.0
    poll_page_size: int = 500
    tenant_refresh_seconds: float = 30.0


async def serve(stop: asyncio.Event, settings: PollerSettings | None = None) -> None:
    settings = settings or PollerSettings()
    keyring = keyring_from(settings)
    pool = await create_pool(settings.database_url.get_secret_value())
    producer = create_producer(settings.kafka_bootstrap, client_id="mlc-sage-poller")
    await ensure_topics(settings.kafka_bootstrap, partitions=settings.kafka_partitions)
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
        self.loops: dict[str, asyncio.Task[None]] = {}

    async def supervise(self) -> None:
        while not self.stop.is_set():
            tenants = {t.tenant_id for t in await list_tenants(self.pool, keyring=self.keyring)}
            for tenant_id in tenants - self.loops.keys():
                self.loops[tenant_id] = asyncio.create_task(self.tenant_loop(tenant_id))
            for tenant_id in self.loops.keys() - tenants:
                self.loops.pop(tenant_id).cancel()
            await sleep_or_stop(self.stop, self.settings.tenant_refresh_seconds)
        await asyncio.gather(*self.loops.values(), return_exceptions=True)

    async def tenant_loop(self, tenant_id: str) -> None:
        while not self.stop.is_set():
            await self.poll_once(tenant_id)
            await sleep_or_stop(self.stop, self.settings.poll_interval_seconds)

    async def poll_once(self, tenant_id: str) -> None:
        try:
            tenant = await load_tenant(self.pool, keyring=self.keyring, tenant_id=tenant_id)
            agent = SageAgentClient(
                self.http,
                base_url=tenant.config.sage.agent_url,
                token=tenant.secrets.sage_agent_token.get_secret_value(),
            )
            for entity in tenant.config.entities:
                await poll_entity(
                    tenant=tenant,
                    entity=entity,
                    agent=agent,
                    store=self.store,
                    publisher=self.publisher,
                    overlap_seconds=self.settings.poll_overlap_seconds,
                    page_size=self.settings.poll_page_size,
                )
        except SageError as exc:
            log.error(
                "poll failed: %s",
                exc,
                extra=ctx(tenant=tenant_id, error=type(exc).__name__, retryable=_retryable(exc)),
            )
        except Exception:
            log.exception("poll failed unexpectedly", extra=ctx(tenant=tenant_id))


def _retryable(exc: SageError) -> bool:
    from mlc_core.sage.errors import SageRetryableError

    return isinstance(exc, SageRetryableError)


def run() -> None:
    settings = PollerSettings()
    run_service("sage-poller", settings, lambda stop: serve(stop, settings))
