"""Fixtures for the writer on real PostgreSQL and Kafka, with the Zoho emulator over HTTP.

The emulator runs as its own process (`mlc-zoho-emulator`); the writer's handlers run in the
test process with real stores, a real idempotent producer, and what they publish recorded.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.contracts import DeadLetter, Envelope, OutcomeStatus, ZohoWriteOutcome, encode
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool
from mlc_core.kafka import Publisher, create_producer, ensure_topics
from mlc_devtools.devstack import StackConfig, script, wait_http
from mlc_devtools.emulated import connect_tenant
from zoho_writer.deps import RetryPolicy, WritePolicy, WriterDeps
from zoho_writer.handlers import drain_once, handle_batch
from zoho_writer.hold import TenantHolds
from zoho_writer.hold_policy import HoldPolicy
from zoho_writer.limiter import TenantLimiter
from zoho_writer.parking import ParkingStore
from zoho_writer.store import WriterStore
from zoho_writer.tenant_state import TenantState
from zoho_writer.tokens import TokenProvider

from tests.e2e.conftest import free_port
from tests.factories import FakeRecord

FAST = WritePolicy(
    parent_retry_seconds=0.2,
    parent_retry_cap_seconds=0.5,
    parent_attempts=5,
    default_edition="free",
    # Tests of other behaviour must not depend on this machine's speed: the batch wait is
    # tested on its own (test_writer_batch_wait_live.py).
    batch_wait_seconds=120.0,
)
FAST_HOLD = HoldPolicy(pause_seconds=0.5, pause_cap_seconds=2.0, credit_pause_seconds=1.0)


class RecordingPublisher(Publisher):
    """The real idempotent producer; also remembers what it published, for assertions."""

    def __init__(self, producer: Any) -> None:
        super().__init__(producer)
        self.producer = producer
        self.sent: list[Envelope] = []

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        await super().publish_all(items)
        self.sent.extend(event for _, event in items)

    def outcomes(self, tenant: str, status: OutcomeStatus | None = None) -> list[ZohoWriteOutcome]:
        return [
            e
            for e in self.sent
            if isinstance(e, ZohoWriteOutcome)
            and e.tenant_id == tenant
            and (status is None or e.status is status)
        ]

    def letters(self, tenant: str) -> list[DeadLetter]:
        return [e for e in self.sent if isinstance(e, DeadLetter) and e.tenant_id == tenant]


@dataclass
class Emulator:
    url: str
    http: httpx.AsyncClient

    async def control(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, json=body or None)
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    async def records(self, org: str, module: str = "Accounts") -> list[dict[str, Any]]:
        return list((await self.control("GET", f"/_emulator/orgs/{org}/records/{module}"))["data"])

    async def stats(self, org: str) -> dict[str, Any]:
        return await self.control("GET", f"/_emulator/orgs/{org}/stats")


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [script("mlc-zoho-emulator"), "--port", str(port), "--log-level", "warning"],
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_emulator/health")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
async def zoho(emulator_url: str) -> AsyncIterator[Emulator]:
    async with httpx.AsyncClient(base_url=emulator_url, timeout=60) as http:
        yield Emulator(emulator_url, http)


@dataclass
class Writer:
    """One writer replica: its own pool, HTTP client and producer, sharing PostgreSQL."""

    deps: WriterDeps
    publisher: RecordingPublisher
    offsets: dict[int, int] = field(default_factory=dict)

    async def handle(self, commands: Sequence[Envelope], partition: int = 0) -> None:
        start = self.offsets.get(partition, 0)
        records = [
            FakeRecord(value=encode(c), key=c.kafka_key, partition=partition, offset=start + i)
            for i, c in enumerate(commands)
        ]
        self.offsets[partition] = start + len(records)
        await handle_batch(records, deps=self.deps)

    async def drain_once(self) -> int:
        """One pass of the writer's drain loop; how many parked commands it finished."""
        return await drain_once(self.deps)

    async def drain_until_empty(self, tenant: str, *, within: float = 60.0) -> None:
        """Run drain passes (as the writer's loop does) until the tenant has nothing parked."""
        deadline = time.monotonic() + within
        while await self.deps.parking.count(tenant):
            assert time.monotonic() < deadline, f"{tenant} still has parked commands"
            await drain_once(self.deps)
            await asyncio.sleep(0.2)


async def open_writer(app_dsn: str, keyring: KeyRing, kafka: str) -> Writer:
    pool = await create_pool(app_dsn)
    state, parking = TenantState(pool), ParkingStore(pool)
    http = httpx.AsyncClient(timeout=30)
    producer = create_producer(kafka, client_id=f"test-writer-{uuid.uuid4().hex[:6]}")
    await producer.start()
    publisher = RecordingPublisher(producer)
    deps = WriterDeps(
        pool=pool,
        keyring=keyring,
        http=http,
        tokens=TokenProvider(pool=pool, keyring=keyring, http=http),
        store=WriterStore(pool),
        state=state,
        parking=parking,
        holds=TenantHolds(state=state, parking=parking, policy=FAST_HOLD),
        limiter=TenantLimiter(replicas=1),
        publisher=publisher,
        retry=RetryPolicy(attempts=3),
        policy=FAST,
    )
    return Writer(deps, publisher)


async def close_writer(writer: Writer) -> None:
    producer = writer.publisher.producer
    await producer.stop()
    await writer.deps.http.aclose()
    await writer.deps.pool.close()


@pytest.fixture
async def writers(
    app_dsn: str, keyring: KeyRing, kafka_bootstrap: str
) -> AsyncIterator[list[Writer]]:
    """Four replicas (most tests use the first)."""
    await ensure_topics(kafka_bootstrap, partitions=3)
    opened = [await open_writer(app_dsn, keyring, kafka_bootstrap) for _ in range(4)]
    yield opened
    for writer in opened:
        await close_writer(writer)


@pytest.fixture
def writer(writers: list[Writer]) -> Writer:
    return writers[0]


async def new_tenant(
    pool: asyncpg.Pool,
    keyring: KeyRing,
    zoho: Emulator,
    tenant_id: str,
    *,
    edition: str = "enterprise",
) -> str:
    port = int(zoho.url.rsplit(":", 1)[1])
    await connect_tenant(
        pool=pool, keyring=keyring, stack=StackConfig(zoho_port=port), tenant_id=tenant_id
    )
    if edition != "enterprise":
        await zoho.control("POST", f"/_emulator/orgs/{tenant_id}/settings", edition=edition)
    return tenant_id
