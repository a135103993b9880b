"""sage-poller: polls each tenant's Sage 100 on the audit stamps and emits raw change events."""

from __future__ import annotations

import asyncio

import httpx
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.health import Liveness
from mlc_core.kafka import Publisher, create_producer, prepare_topics
from mlc_core.lag import LagReader
from mlc_core.runtime import keyring_from, liveness_from_env, run_service
from mlc_core.sage.agent import AgentConnections
from mlc_core.supervise import Supervisor, run_supervised

from sage_poller import CLIENT_ID
from sage_poller.deps import PollerDeps
from sage_poller.loops import TenantLoops
from sage_poller.outbox import OutboxRelay
from sage_poller.settings import PollerSettings
from sage_poller.store import PollerStore
from sage_poller.sync import SyncStore


async def serve(
    stop: asyncio.Event, settings: PollerSettings | None = None, liveness: Liveness | None = None
) -> None:
    settings = settings or PollerSettings()
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        retry_for=SERVICE_CONNECT_RETRY_S,
        max_size=settings.poller_db_pool_size,
    )
    producer = create_producer(settings.kafka_bootstrap, client_id=CLIENT_ID)
    await prepare_topics(settings.kafka_bootstrap)
    await producer.start()
    http = httpx.AsyncClient(timeout=60)
    lag = LagReader(settings.kafka_bootstrap)
    await lag.start()
    pacer = settings.pacer(lag)
    agents = AgentConnections(http)
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
        agents=agents,
        pacer=pacer,
    )
    backoff = settings.restart_backoff()
    loops = Supervisor(stop=stop, backoff=backoff)
    if liveness is not None:  # /healthz fails while a tenant's loop shows no progress
        stall = liveness.stall_after
        liveness.watch(lambda now: loops.stalled(longer_than=stall, now=now))
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
        await agents.aclose()
        await http.aclose()
        await lag.close()
        await producer.stop()
        await pool.close()


def run() -> None:
    settings, liveness = PollerSettings(), liveness_from_env()
    run_service(
        "sage-poller", settings, lambda stop: serve(stop, settings, liveness), liveness=liveness
    )
