"""mapper: raw Sage change events in, Zoho commands (or dead letters) out."""

from __future__ import annotations

import asyncio

from mlc_core.consume import consume_forever
from mlc_core.contracts import Topics
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.health import Liveness
from mlc_core.kafka import Publisher, create_consumer, create_producer, prepare_topics
from mlc_core.runtime import liveness_from_env, run_service
from mlc_core.settings import CommonSettings

from mapper import GROUP_ID
from mapper.handlers import SwitchedOff, handle_batch
from mapper.store import MapCache


async def serve(
    stop: asyncio.Event, settings: CommonSettings | None = None, liveness: Liveness | None = None
) -> None:
    settings = settings or CommonSettings()
    await prepare_topics(settings.kafka_bootstrap)
    producer = create_producer(settings.kafka_bootstrap, client_id=GROUP_ID)
    consumer = create_consumer(
        settings.kafka_bootstrap, Topics.SAGE_CHANGES, group_id=GROUP_ID, client_id=GROUP_ID
    )
    pool = await create_pool(
        settings.database_url.get_secret_value(), retry_for=SERVICE_CONNECT_RETRY_S
    )
    await producer.start()
    await consumer.start()
    publisher, maps, switched_off = Publisher(producer), MapCache(pool=pool), SwitchedOff()
    try:
        await consume_forever(
            consumer,
            lambda batch: handle_batch(
                batch, publisher=publisher, maps=maps, switched_off=switched_off
            ),
            stop=stop,
            heartbeat=liveness.heartbeat("consume") if liveness is not None else None,
        )
    finally:
        await consumer.stop()
        await producer.stop()
        await pool.close()


def run() -> None:
    settings, liveness = CommonSettings(), liveness_from_env()
    run_service("mapper", settings, lambda stop: serve(stop, settings, liveness), liveness=liveness)
