"""zoho-writer: applies Zoho commands (tokens, data centres, limits) and publishes outcomes."""

from __future__ import annotations

import asyncio

import httpx
from mlc_core.consume import Linger, consume_combined
from mlc_core.contracts import Topics
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.health import Liveness
from mlc_core.kafka import Publisher, create_consumer, create_producer, prepare_topics
from mlc_core.runtime import keyring_from, liveness_from_env, run_service
from mlc_core.supervise import LoopHealth, RestartBackoff, run_supervised

from zoho_writer import GROUP_ID
from zoho_writer.deps import WriterDeps
from zoho_writer.drains import Drains
from zoho_writer.fill import wants_more
from zoho_writer.handlers import DRAIN_TENANTS_AT_ONCE, handle_batch
from zoho_writer.hold import TenantHolds
from zoho_writer.limiter import TenantLimiter
from zoho_writer.parking import ParkingStore
from zoho_writer.replicas import WriterReplicas
from zoho_writer.settings import WriterSettings
from zoho_writer.store import ReplicaStore, WriterStore
from zoho_writer.tenant_state import TenantState
from zoho_writer.tokens import TokenProvider

# A failed drain pass loses nothing (parked commands are durable): the next one retries them,
# sooner after a one-off failure, at most a minute apart while PostgreSQL is down.
DRAIN_RESTART = RestartBackoff(base=2.0, cap=60.0)


async def serve(
    stop: asyncio.Event, settings: WriterSettings | None = None, liveness: Liveness | None = None
) -> None:
    settings = settings or WriterSettings()
    keyring = keyring_from(settings)
    await prepare_topics(settings.kafka_bootstrap)
    # Up to DRAIN_TENANTS_AT_ONCE drains each hold a connection for their advisory lock
    # (as long as a share may take); the rest is for the consumer's shares and the drains'
    # statements, which hold one only briefly.
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        retry_for=SERVICE_CONNECT_RETRY_S,
        max_size=DRAIN_TENANTS_AT_ONCE + 8,
    )
    http = httpx.AsyncClient(timeout=settings.zoho_timeout_seconds)
    producer = create_producer(settings.kafka_bootstrap, client_id=GROUP_ID)
    consumer = create_consumer(
        settings.kafka_bootstrap,
        Topics.ZOHO_COMMANDS,
        group_id=GROUP_ID,
        client_id=GROUP_ID,
        max_poll_records=settings.writer_max_poll_records,
    )
    await producer.start()
    await consumer.start()
    state, parking = TenantState(pool), ParkingStore(pool)
    deps = WriterDeps(
        pool=pool,
        keyring=keyring,
        http=http,
        tokens=TokenProvider(
            pool=pool, keyring=keyring, http=http, refresh_budget=settings.writer_refresh_budget
        ),
        store=WriterStore(pool),
        state=state,
        parking=parking,
        holds=TenantHolds(state=state, parking=parking, policy=settings.hold_policy()),
        limiter=TenantLimiter(),
        publisher=Publisher(producer),
        retry=settings.retry_policy(),
        policy=settings.policy(),
    )

    drains = Drains(deps, stop=stop)

    async def drain_pass() -> float:
        """Parked commands are written once their tenant's hold is over or their parent exists."""
        await drains.tick()
        return settings.writer_drain_interval_seconds

    replicas = WriterReplicas(store=ReplicaStore(pool), limiter=deps.limiter)
    await replicas.join(stop)  # before any Zoho call: the others make room for this one
    beating = asyncio.create_task(replicas.keep_beating(stop))
    drain_health = LoopHealth("drain")
    if liveness is not None:  # /healthz fails while the drain shows no progress
        stall = liveness.stall_after
        liveness.watch(lambda now: ["drain"] if drain_health.idle_for(now) > stall else [])
    drainer = asyncio.create_task(
        run_supervised("drain", drain_pass, stop=stop, backoff=DRAIN_RESTART, health=drain_health)
    )
    # Every partition's commands in one batch, so a tenant's changes fill 100-record calls.
    linger = Linger(
        wants_more=wants_more,
        quiet_ms=settings.writer_linger_ms,
        max_ms=settings.writer_linger_max_ms,
        max_records=settings.writer_max_poll_records,
    )
    try:
        await consume_combined(
            consumer,
            lambda batch: handle_batch(batch, deps=deps),
            stop=stop,
            linger=linger if settings.writer_linger_ms > 0 else None,
            heartbeat=liveness.heartbeat("consume") if liveness is not None else None,
        )
    finally:
        stop.set()
        await drainer
        await drains.close()
        await beating
        await replicas.leave()  # after the last Zoho call
        await consumer.stop()
        await producer.stop()
        await http.aclose()
        await pool.close()


def run() -> None:
    settings, liveness = WriterSettings(), liveness_from_env()
    run_service(
        "zoho-writer", settings, lambda stop: serve(stop, settings, liveness), liveness=liveness
    )
