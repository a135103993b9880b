"""zoho-writer: applies Zoho commands (tokens, data centres, limits) and publishes outcomes."""

from __future__ import annotations

import asyncio

import httpx
from mlc_core.contracts import Topics
from mlc_core.db import create_pool
from mlc_core.kafka import (
    Publisher,
    consume_forever,
    create_consumer,
    create_producer,
    ensure_topics,
)
from mlc_core.runtime import keyring_from, run_service
from mlc_core.settings import CommonSettings

from zoho_writer.handlers import RetryPolicy, WriterDeps, handle_batch
from zoho_writer.store import WriterStore
from zoho_writer.tokens import TokenProvider

GROUP_ID = "mlc-zoho-writer"


class WriterSettings(CommonSettings):
    writer_attempts: int = 4
    writer_concurrency: int = 10
    zoho_timeout_seconds: float = 60.0


async def serve(stop: asyncio.Event, settings: WriterSettings | None = None) -> None:
    settings = settings or WriterSettings()
    keyring = keyring_from(settings)
    await ensure_topics(settings.kafka_bootstrap, partitions=settings.kafka_partitions)
    pool = await create_pool(settings.database_url.get_secret_value())
    http = httpx.AsyncClient(timeout=settings.zoho_timeout_seconds)
    producer = create_producer(settings.kafka_bootstrap, client_id=GROUP_ID)
    consumer = create_consumer(
        settings.kafka_bootstrap,
        Topics.ZOHO_COMMANDS,
        group_id=GROUP_ID,
        client_id=GROUP_ID,
        max_poll_records=1000,
    )
    await producer.start()
    await consumer.start()
    deps = WriterDeps(
        pool=pool,
        keyring=keyring,
        http=http,
        tokens=TokenProvider(pool=pool, keyring=keyring, http=http),
        store=WriterStore(pool),
        publisher=Publisher(producer),
        retry=RetryPolicy(attempts=settings.writer_attempts),
        concurrency=settings.writer_concurrency,
    )
    try:
        await consume_forever(consumer, lambda batch: handle_batch(batch, deps=deps), stop=stop)
    finally:
        await consumer.stop()
        await producer.stop()
        await http.aclose()
        await pool.close()


def run() -> None:
    settings = WriterSettings()
    run_service("zoho-writer", settings, lambda stop: serve(stop, settings))
