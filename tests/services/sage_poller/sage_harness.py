"""A poller wired to the real Kafka and PostgreSQL and to the emulator + agent over HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from mlc_core.contracts import Entity, Envelope, SageRecordChanged, SageRecordDeleted, decode
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Backoff, Publisher
from mlc_core.sage.agent import SageAgentClient
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from pydantic import SecretStr
from sage_poller.handlers import (
    PollIO,
    PollResult,
    ReconcileResult,
    poll_entity,
    reconcile_entity,
)
from sage_poller.outbox import OutboxRelay
from sage_poller.retry import Retrier
from sage_poller.store import PollerStore

from tests.services.sage_agent.servers import AGENT_TOKEN, SageSide


class RecordingPublisher(Publisher):
    """The real publisher (waits for Kafka's acks) that also keeps what it sent."""

    def __init__(self, inner: Publisher) -> None:
        self._inner = inner
        self.sent: list[tuple[str, Envelope]] = []

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        await self._inner.publish_all(items)
        self.sent.extend(items)


@dataclass
class Harness:
    side: SageSide
    tenant: Tenant
    store: PollerStore
    publisher: RecordingPublisher
    http: httpx.AsyncClient
    attempts: int = 5
    marks: dict[str, int] = field(default_factory=dict)

    @property
    def agent(self) -> SageAgentClient:
        return SageAgentClient(self.http, base_url=self.side.agent_url, token=AGENT_TOKEN)

    @property
    def outbox(self) -> OutboxRelay:
        return OutboxRelay(self.store.pool, self.publisher)

    def retrier(self, entity: Entity) -> Retrier:
        return Retrier(
            self.tenant.tenant_id, entity, self.publisher, self.attempts, Backoff(0.01, 0.05)
        )

    async def poll(
        self,
        entity: Entity,
        page_size: int = 500,
        outbox: OutboxRelay | None = None,
        previous_start: datetime | None = None,
    ) -> PollResult:
        """A poll; `outbox` replaces the harness's own (a publisher that crashes, say)."""
        io = self.io(entity, outbox=outbox, page_size=page_size)
        return await poll_entity(
            tenant=self.tenant,
            entity=entity,
            io=io,
            overlap_seconds=60,
            previous_start=previous_start,
        )

    async def reconcile(self, entity: Entity) -> ReconcileResult:
        return await reconcile_entity(tenant=self.tenant, entity=entity, io=self.io(entity))

    def io(
        self, entity: Entity, *, outbox: OutboxRelay | None = None, page_size: int = 500
    ) -> PollIO:
        return PollIO(
            agent=self.agent,
            store=self.store,
            outbox=outbox or self.outbox,
            retrier=self.retrier(entity),
            page_size=page_size,
        )

    def take(self) -> list[Envelope]:
        """Events sent since the last take()."""
        start = self.marks.get("sent", 0)
        self.marks["sent"] = len(self.publisher.sent)
        return [event for _, event in self.publisher.sent[start:]]

    def control(self) -> httpx.Client:
        return self.side.control()


def changes(events: list[Envelope]) -> list[SageRecordChanged]:
    return [e for e in events if isinstance(e, SageRecordChanged)]


def deletes(events: list[Envelope]) -> list[SageRecordDeleted]:
    return [e for e in events if isinstance(e, SageRecordDeleted)]


async def add_sage_tenant(
    pool: asyncpg.Pool, keyring: KeyRing, side: SageSide, time_zone: str = "UTC"
) -> Tenant:
    tenant = Tenant(
        tenant_id=f"s{uuid.uuid4().hex[:8]}",
        display_name="sage test",
        # The harness drives every poll itself; disabled keeps the e2e stack's poller (same
        # database, same session) from polling this tenant too and publishing its own events.
        enabled=False,
        config=TenantConfig(
            sage=SageConfig(company_code="ABC", agent_url=side.agent_url, time_zone=time_zone),
            zoho=ZohoConfig(accounts_url="http://127.0.0.1:9", client_id="unused"),
            entities=list(Entity),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr(AGENT_TOKEN),
            zoho_client_secret=SecretStr("unused"),
            zoho_refresh_token=SecretStr("unused"),
        ),
    )
    await add_tenant(pool, keyring=keyring, tenant=tenant)
    return tenant


async def read_topic(
    bootstrap: str, topic: str, tenant_id: str, want: int, *, since: float | None = None
) -> list[Any]:
    """Events of one tenant on a topic, read back from Kafka (from `since`, a time.time(), when
    given, else from the beginning).

    No consumer group (every partition, read directly): a loaded machine then cannot stall the
    read in group joins and heartbeats; `since` skips what earlier tests and benchmarks left on
    the shared broker. Reads until `want` events arrived and the topic is drained, or two
    minutes passed."""
    consumer = AIOKafkaConsumer(
        str(topic),
        bootstrap_servers=bootstrap,
        group_id=None,  # every partition, no group coordinator
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + 120
        if since is not None:
            await _seek_to_time(consumer, since, deadline)
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                events = [decode(r.value or b"") for r in records]
                found += [e for e in events if e.tenant_id == tenant_id]
            if len(found) >= want and not batches:
                break
    finally:
        await consumer.stop()
    return found


async def _seek_to_time(consumer: AIOKafkaConsumer, since: float, deadline: float) -> None:
    while not consumer.assignment() and time.monotonic() < deadline:  # noqa: ASYNC110 - aiokafka offers no event for its assignment
        await asyncio.sleep(0.1)
    partitions = list(consumer.assignment())
    offsets = await consumer.offsets_for_times({tp: int(since * 1000) for tp in partitions})
    ends = await consumer.end_offsets(partitions)
    for tp in partitions:
        found = offsets.get(tp)
        consumer.seek(tp, found.offset if found is not None else ends[tp])
