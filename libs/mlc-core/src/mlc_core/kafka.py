"""Kafka plumbing: idempotent producers and consumers that commit only after the effect.

Why not FastStream's subscriber: its Kafka default (ACK_FIRST) is at-most-once, and its manual
ack commits the consumer's *current positions* for every assigned partition, which can cover
records of other partitions that were fetched but not yet handled. Here each partition's offset is
committed explicitly, to one past the last record whose effect is durable.

Why, at length: docs/decisions/0001-explicit-partition-commits.md.

The consume loops (and their failure policy) are in mlc_core.consume.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaConnectionError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
    for_code,
)
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.metadata import MetadataRequest
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlc_core.contracts import Envelope, Topics
from mlc_core.logging import ctx
from mlc_core.settings import KafkaSecurity, TopicSettings
from mlc_core.telemetry import start_publish_span
from mlc_core.unsendable import DEFAULT_MAX_MESSAGE_BYTES, sendable

log = logging.getLogger(__name__)


class Record(Protocol):
    """What handlers use of a consumed Kafka record (aiokafka's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


BatchHandler = Callable[[Sequence[Record]], Awaitable[None]]


def client_options(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """The TLS/SASL keyword arguments of every aiokafka client we build (producer, consumer,
    admin): the one place that turns `MLC_KAFKA_SECURITY_PROTOCOL` and friends into a
    connection. Without `security` they come from the environment."""
    security = security if security is not None else KafkaSecurity()
    options: dict[str, Any] = {"security_protocol": security.security_protocol}
    if security.uses_tls:
        options["ssl_context"] = create_ssl_context(
            cafile=security.ca_file, certfile=security.cert_file, keyfile=security.key_file
        )
    if security.uses_sasl:
        options.update(
            sasl_mechanism=security.sasl_mechanism,
            sasl_plain_username=security.username,
            sasl_plain_password=security.password_text(),
        )
    return options


def create_admin(
    bootstrap: str, *, security: KafkaSecurity | None = None, **kwargs: Any
) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options(security), **kwargs)


def create_producer(
    bootstrap: str, *, client_id: str, security: KafkaSecurity | None = None
) -> AIOKafkaProducer:
    # Idempotence (implies acks=all) lets the broker drop our own retried sends, so a network
    # blip never duplicates or reorders a record's events within this producer session.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_options(security),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=30_000,
    )


def create_consumer(
    bootstrap: str,
    *topics: str,
    group_id: str | None,
    client_id: str,
    max_poll_records: int = 500,
    security: KafkaSecurity | None = None,
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        **client_options(security),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=max_poll_records,
        # Zoho writes with backoff can take minutes; leaving the group mid-batch would hand the
        # partition to another member while we still work on it (aiokafka #848).
        max_poll_interval_ms=900_000,
    )


class TopicsMissingError(RuntimeError):
    """The broker lacks topics a service needs and the service may not create them."""


async def prepare_topics(
    bootstrap: str, *, settings: TopicSettings | None = None, wait_seconds: float = 300.0
) -> None:
    """At a service's start: create missing topics where `MLC_KAFKA_AUTO_CREATE_TOPICS` allows
    it (dev, tests), else wait for `mlc kafka topics --apply` to have provisioned them."""
    settings = settings if settings is not None else TopicSettings()
    if settings.auto_create_topics:
        await ensure_topics(
            bootstrap,
            partitions=settings.partitions,
            replication=settings.replication_factor,
            min_insync_replicas=settings.min_insync_replicas,
            wait_seconds=wait_seconds,
        )
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        admin = await _admin_when_reachable(bootstrap, wait_seconds)
        try:
            missing = await _missing_topics(admin)
        finally:
            await admin.close()
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TopicsMissingError(
                f"topics missing on {bootstrap}: {', '.join(missing)}; provision them with "
                "`mlc kafka topics --apply` (or set MLC_KAFKA_AUTO_CREATE_TOPICS=true in dev)"
            )
        log.warning("topics not provisioned yet, waiting", extra=ctx(missing=missing))
        await asyncio.sleep(5.0)


async def _missing_topics(admin: AIOKafkaAdminClient) -> list[str]:
    """Our topics the broker says do not exist. A principal that may not see a topic (no ACL:
    not one it uses) gets an authorization error for it instead, which is not "missing". The
    request is built here because the admin client's describe_topics would ask the broker to
    auto-create them, where a broker allows that."""
    request = MetadataRequest([t.value for t in Topics], allow_auto_topic_creation=False)
    response = await admin._send_request(request)
    return sorted(
        t["topic"]
        for t in response.to_object()["topics"]
        if t["error_code"] == UnknownTopicOrPartitionError.errno
    )


async def ensure_topics(
    bootstrap: str,
    *,
    partitions: int,
    replication: int = 1,
    min_insync_replicas: int = 1,
    wait_seconds: float = 300.0,
) -> None:
    """Create the application's topics if missing (auto-create is off on our brokers)."""
    admin = await _admin_when_reachable(bootstrap, wait_seconds)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=t.value,
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs={"min.insync.replicas": str(min_insync_replicas)},
            )
            for t in Topics
            if t.value not in existing
        ]
        if wanted:
            response = await admin.create_topics(wanted)
            # Several services start together; whichever is second finds them created. Any
            # other per-topic error (an ACL refusal) is reported, not ignored.
            for topic, code, *_ in response.topic_errors:
                if code and code != TopicAlreadyExistsError.errno:
                    raise for_code(code)(f"creating topic {topic}")
    finally:
        await admin.close()


async def _admin_when_reachable(bootstrap: str, wait_seconds: float) -> AIOKafkaAdminClient:
    """A service (re)started while the broker restarts waits for it instead of exiting: where
    nothing restarts it (the dev stack, a plain process manager) it would stay down for good."""
    deadline = time.monotonic() + wait_seconds
    for attempt in itertools.count():
        admin = create_admin(bootstrap)
        try:
            await admin.start()
            return admin
        except KafkaConnectionError:
            with contextlib.suppress(Exception):
                await admin.close()
            if time.monotonic() > deadline:
                raise
            log.warning("Kafka not reachable yet, waiting", extra=ctx(bootstrap=bootstrap))
            await asyncio.sleep(Backoff(base=0.5, cap=5.0).delay(attempt))
    raise AssertionError("unreachable")  # itertools.count() never ends


class MessageLimit(BaseSettings):
    """MLC_KAFKA_MAX_MESSAGE_BYTES: the largest message (value and key) a service sends; a
    bigger event goes out as a small dead letter instead (mlc_core.unsendable). Keep it below
    the producer's max.request.size and the broker's message.max.bytes (about 1 MiB each by
    default) minus room for headers."""

    model_config = SettingsConfigDict(env_prefix="MLC_KAFKA_", extra="ignore")

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES


class Publisher:
    """Sends events and waits until the broker has them (acks=all) before returning.

    An event Kafka cannot carry (text that is not UTF-8, more than `max_message_bytes`) is sent
    as a dead letter standing for it: one such record must not fail its whole batch forever."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        *,
        max_message_bytes: int | None = None,
        stage: str = "publish",
    ) -> None:
        self._producer = producer
        self._limit = max_message_bytes or MessageLimit().max_message_bytes
        self._stage = stage

    @property
    def max_message_bytes(self) -> int:
        return self._limit

    def sendable(self, topic: str, event: Envelope) -> tuple[str, Envelope, bytes]:
        return sendable(topic, event, limit=self._limit, stage=self._stage)

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        spans, futures = [], []
        try:
            for wanted_topic, wanted in items:
                topic, event, payload = self.sendable(wanted_topic, wanted)
                if event is not wanted:
                    log.error(
                        "event cannot go to Kafka as it is; sent as a dead letter",
                        extra=ctx(tenant=event.tenant_id, topic=wanted_topic),
                    )
                # Headers carry the trace context and correlation id (telemetry.py); delivery
                # is unchanged: every send is awaited until the broker acknowledged it.
                span, headers = start_publish_span(topic, event)
                spans.append(span)
                futures.append(
                    await self._producer.send(topic, payload, key=event.kafka_key, headers=headers)
                )
            await asyncio.gather(*futures)
        finally:
            for span in spans:
                span.end()


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential backoff: spreads retries of many replicas apart (no herd)."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))
