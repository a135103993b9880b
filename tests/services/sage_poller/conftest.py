"""Fixtures for the poller's integration tests: emulator + agent over HTTP, a harness on the
real Kafka and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Publisher, create_producer, ensure_topics
from sage_poller.store import PollerStore

from tests.services.sage_agent.servers import SageSide, sage_side
from tests.services.sage_poller.sage_harness import Harness, RecordingPublisher, add_sage_tenant


@pytest.fixture(scope="module")
async def publisher(kafka_bootstrap: str) -> AsyncIterator[Publisher]:
    await ensure_topics(kafka_bootstrap, partitions=3)
    producer = create_producer(kafka_bootstrap, client_id="test-sage-poller")
    await producer.start()
    yield Publisher(producer)
    await producer.stop()


@pytest.fixture
def side(request: pytest.FixtureRequest) -> Iterator[SageSide]:
    """Emulator + agent; parametrize indirectly with agent settings, "tz" and "freeze_at"."""
    options = dict(getattr(request, "param", {}))
    freeze_at = options.pop("freeze_at", None)
    with sage_side(**options) as running:
        if freeze_at is not None:
            running.state.clock.freeze(freeze_at)
        with running.control() as control:
            control.post("/_emulator/companies/ABC/generate", json={"customers": 30, "seed": 9})
        yield running


@pytest.fixture
async def harness(
    side: SageSide, app_pool: asyncpg.Pool, keyring: KeyRing, publisher: Publisher
) -> AsyncIterator[Harness]:
    tz = side.state.clock.tz_name
    tenant = await add_sage_tenant(app_pool, keyring, side, time_zone=tz)
    async with httpx.AsyncClient(timeout=60) as http:
        yield Harness(side, tenant, PollerStore(app_pool), RecordingPublisher(publisher), http)
