"""Reads what a run left behind: every message on the product topics, the audit log, outcomes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from mlc_core.contracts import Topics

from chaos.verify import KafkaMessage, Outcome

PRODUCT_TOPICS = tuple(t.value for t in Topics)
Offsets = dict[tuple[str, int], int]


async def _partitions(bootstrap: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in PRODUCT_TOPICS if t in existing]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    )


async def _consumer(bootstrap: str) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    partitions = await _partitions(bootstrap)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    return consumer, partitions


async def end_offsets(bootstrap: str) -> Offsets:
    """Where each product topic partition ends now (a run checks only what comes after)."""
    if not await _partitions(bootstrap):
        return {}  # a fresh broker: the services have not created the topics yet
    consumer, partitions = await _consumer(bootstrap)
    try:
        ends = await consumer.end_offsets(partitions)
        return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def scan(bootstrap: str, since: Offsets) -> list[KafkaMessage]:
    """Every message from `since` (or the start) to the current end of each partition."""
    consumer, partitions = await _consumer(bootstrap)
    try:
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        todo = {}
        for tp in partitions:
            start = since.get((tp.topic, tp.partition), 0)
            consumer.seek(tp, start)
            if ends[tp] > start:
                todo[tp] = ends[tp]
        return await _read_until(consumer, todo)
    finally:
        await consumer.stop()


async def _read_until(
    consumer: AIOKafkaConsumer, todo: dict[TopicPartition, int]
) -> list[KafkaMessage]:
    messages: list[KafkaMessage] = []
    while todo:
        batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
        for tp, records in batches.items():
            messages += [
                KafkaMessage(r.topic, r.partition, r.offset, event_id(r.value))
                for r in records
                if r.offset < todo.get(tp, 0)
            ]
            if tp in todo and await consumer.position(tp) >= todo[tp]:
                del todo[tp]
    return messages


def event_id(value: bytes | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(json.loads(value or b"")["event_id"]))
    except (ValueError, KeyError, TypeError):
        return None


async def audit_stored(pool: asyncpg.Pool) -> tuple[set[tuple[str, int, int]], set[uuid.UUID]]:
    rows = await pool.fetch("SELECT topic, kafka_partition, kafka_offset FROM audit_events")
    offsets = {(r["topic"], r["kafka_partition"], r["kafka_offset"]) for r in rows}
    ids = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM audit_event_ids")}
    return offsets, ids


async def outcomes(pool: asyncpg.Pool, tenants: Sequence[str]) -> list[Outcome]:
    rows = await pool.fetch(
        "SELECT tenant_id, entity, source_key, payload->>'status' AS status, occurred_at"
        " FROM audit_events WHERE event_type = 'zoho.write.outcome' AND tenant_id = ANY($1)"
        " ORDER BY occurred_at",
        list(tenants),
    )
    return [
        Outcome(r["tenant_id"], r["entity"], r["source_key"], r["status"], r["occurred_at"])
        for r in rows
    ]
