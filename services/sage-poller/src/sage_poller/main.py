"""sage-poller: polls each tenant's Sage 100 on the audit stamps and emits raw change events."""

from __future__ import annotations

import asyncio

import httpx
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.kafka import Publisher, create_producer, prepare_topics
from mlc_core.runtime import keyring_from, run_service
from mlc_core.supervise import Supervisor, run_supervised

from sage_poller.deps import PollerDeps
from sage_poller.loops import TenantLoops
from sage_poller.outbox import OutboxRelay
from sage_poller.settings import PollerSettings
from sage_poller.store import PollerStore
from sage_poller.sync import SyncStore


async def serve(stop: asyncio.Event, settings: PollerSettings | None = None) -> None:
    settings = settings or PollerSettings()
    pool = await create_pool(
        settings.database_url.get_secret_value(), retry_for=SERVICE_CONNECT_RETRY_S
    )
    producer = create_producer(settings.kafka_bootstrap, client_id="mlc-sage-poller")
    await prepare_topics(settings.kafka_bootstrap)
    await producer.start()
    http = httpx.AsyncClient(timeout=60)
    publisher = Publisher(producer, stage="sage-poller")
    deps = PollerDeps(
        pool=pool,
        keyring=keyring_from(settings),
        http=http,
        store=PollerStore(pool, max_message_bytes=publisher.max_message_bytes),
        publisher=publisher,
        outbox=OutboxRelay(pool, publisher),
        sync_store=SyncStore(pool),
        options=settings.poll_options(),
    )
    backoff = settings.restart_backoff()
    loops = Supervisor(stop=stop, backoff=backoff)
    tenants = TenantLoops(
        deps=deps,
        loops=loops,
        policy=settings.schedule_policy(),
        refresh=settings.tenant_refresh_seconds,
    )
    try:
        await run_supervised("tenants", tenants.iteration, stop=stop, backoff=backoff)
    finally:
        stop.set()  # also when cancelled: every tenant's loop ends before its clients close
        await loops.wait()
        await http.aclose()
        await producer.stop()
        await pool.close()


def run() -> None:
    settings = PollerSettings()
    run_service("sage-poller", settings, lambda stop: serve(stop, settings))
