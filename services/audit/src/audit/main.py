"""audit: stores every event of every topic, once, in the append-only PostgreSQL log."""

from __future__ import annotations

import asyncio

from mlc_core.consume import consume_forever
from mlc_core.contracts import Topics
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.health import Liveness
from mlc_core.kafka import create_consumer, prepare_topics
from mlc_core.runtime import liveness_from_env, run_service
from mlc_core.settings import CommonSettings

from audit import GROUP_ID
from audit.handlers import handle_batch


async def serve(
    stop: asyncio.Event, settings: CommonSettings | None = None, liveness: Liveness | None = None
) -> None:
    settings = settings or CommonSettings()
    await prepare_topics(settings.kafka_bootstrap)
    pool = await create_pool(
        settings.database_url.get_secret_value(), retry_for=SERVICE_CONNECT_RETRY_S
    )
    consumer = create_consumer(
        settings.kafka_bootstrap,
        *(t.value for t in Topics),
        group_id=GROUP_ID,
        client_id=GROUP_ID,
        max_poll_records=2000,
    )
    await consumer.start()
    try:
        await consume_forever(
            consumer,
            lambda batch: handle_batch(batch, pool=pool),
            stop=stop,
            heartbeat=liveness.heartbeat("consume") if liveness is not None else None,
        )
    finally:
        await consumer.stop()
        await pool.close()


def run() -> None:
    settings, liveness = CommonSettings(), liveness_from_env()
    run_service("audit", settings, lambda stop: serve(stop, settings, liveness), liveness=liveness)
