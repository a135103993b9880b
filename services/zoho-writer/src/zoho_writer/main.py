"""zoho-writer: applies Zoho commands (tokens, data centres, limits) and publishes outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
from mlc_core.contracts import Topics
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.kafka import (
    Publisher,
    consume_forever,
    create_consumer,
    create_producer,
    prepare_topics,
)
from mlc_core.runtime import keyring_from, run_service
from mlc_core.settings import CommonSettings

from zoho_writer.deps import RetryPolicy, WritePolicy, WriterDeps
from zoho_writer.handlers import drain_once, handle_batch
from zoho_writer.limiter import CONCURRENCY, TenantLimiter
from zoho_writer.parking import ParkingStore
from zoho_writer.store import WriterStore
from zoho_writer.tenant_state import TenantState
from zoho_writer.tokens import TokenProvider

GROUP_ID = "mlc-zoho-writer"
log = logging.getLogger(__name__)


class WriterSettings(CommonSettings):
    writer_attempts: int = 4
    # How many writer processes share each org's Zoho concurrency (min(edition, 10)).
    writer_replicas: int = 1
    # The edition assumed when Zoho does not say (no ZohoCRM.org.READ scope); Free is the
    # smallest, so the writer never exceeds any org's limits by assuming it.
    writer_default_edition: str = "free"
    writer_pause_seconds: float = 30.0
    writer_pause_cap_seconds: float = 900.0
    writer_credit_pause_seconds: float = 900.0
    writer_parent_retry_seconds: float = 5.0
    writer_parent_attempts: int = 40
    writer_drain_interval_seconds: float = 2.0
    # Records per poll: more records per pass means fuller 100-record batches per partition
    # and more of them in flight at once (up to the org's concurrency).
    writer_max_poll_records: int = 5000
    zoho_timeout_seconds: float = 60.0
    # Token refreshes per tenant per 10 minutes, all replicas together (Zoho allows 10).
    writer_refresh_budget: int = 8

    def policy(self) -> WritePolicy:
        if self.writer_default_edition not in CONCURRENCY:
            raise ValueError(f"MLC_WRITER_DEFAULT_EDITION must be one of {sorted(CONCURRENCY)}")
        return WritePolicy(
            pause_seconds=self.writer_pause_seconds,
            pause_cap_seconds=self.writer_pause_cap_seconds,
            credit_pause_seconds=self.writer_credit_pause_seconds,
            parent_retry_seconds=self.writer_parent_retry_seconds,
            parent_attempts=self.writer_parent_attempts,
            default_edition=self.writer_default_edition,
        )


async def drain_forever(deps: WriterDeps, *, stop: asyncio.Event, interval: float) -> None:
    """Parked commands are written once their tenant's pause is over or their parent exists."""
    while not stop.is_set():
        try:
            await drain_once(deps)
        except Exception:
            # Kept alive: parked commands are durable and the next pass retries them.
            log.exception("drain pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def serve(stop: asyncio.Event, settings: WriterSettings | None = None) -> None:
    settings = settings or WriterSettings()
    keyring = keyring_from(settings)
    await prepare_topics(settings.kafka_bootstrap)
    pool = await create_pool(
        settings.database_url.get_secret_value(), retry_for=SERVICE_CONNECT_RETRY_S
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
    deps = WriterDeps(
        pool=pool,
        keyring=keyring,
        http=http,
        tokens=TokenProvider(
            pool=pool, keyring=keyring, http=http, refresh_budget=settings.writer_refresh_budget
        ),
        store=WriterStore(pool),
        state=TenantState(pool),
        parking=ParkingStore(pool),
        limiter=TenantLimiter(replicas=settings.writer_replicas),
        publisher=Publisher(producer),
        retry=RetryPolicy(attempts=settings.writer_attempts),
        policy=settings.policy(),
    )
    drainer = asyncio.create_task(
        drain_forever(deps, stop=stop, interval=settings.writer_drain_interval_seconds)
    )
    try:
        await consume_forever(consumer, lambda batch: handle_batch(batch, deps=deps), stop=stop)
    finally:
        stop.set()
        await drainer
        await consumer.stop()
        await producer.stop()
        await http.aclose()
        await pool.close()


def run() -> None:
    settings = WriterSettings()
    run_service("zoho-writer", settings, lambda stop: serve(stop, settings))
