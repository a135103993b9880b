"""The bad-input corpus (chaos/corpus.py): every case produces its specific error and the good
inputs around it come through; and the same records through real Kafka and the real mapper
service: every good one mapped, every bad one a dead letter naming tenant, entity, key, field."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from aiokafka import AIOKafkaConsumer
from mapper.main import serve
from mlc_core.contracts import DeadLetter, Topics, ZohoUpsertCommand, decode
from mlc_core.kafka import Publisher, create_producer, ensure_topics
from mlc_core.settings import CommonSettings
from pydantic import SecretStr, ValidationError

from chaos.corpus import CASES, mapper_events, run_corpus


def test_every_case_produces_its_error_and_lets_the_good_inputs_through() -> None:
    results = run_corpus()
    assert len(results) == len(CASES) >= 40
    failed = [(r.name, r.expected, r.observed) for r in results if not r.passed]
    assert failed == []
    assert len({r.name for r in results}) == len(results)
    categories = Counter(r.category for r in results)
    assert set(categories) == {"sage-record", "mapper", "hostile", "agent", "soap"}
    # Each case names a specific error (class and field or code), not just "an error".
    for result in results:
        if result.category in ("sage-record", "mapper"):
            assert result.expected.split(";")[0].count(":") == 1, result.expected


@pytest.mark.integration
async def test_corpus_records_through_kafka_into_the_mapper(
    kafka_bootstrap: str, app_dsn: str
) -> None:
    tenant = f"corpus-{uuid.uuid4().hex[:8]}"
    # The NUL-byte case included: the audit service stores NULs now (services/audit), so this
    # topic content no longer stalls anything downstream.
    inputs = mapper_events(tenant)
    assert len(inputs) >= 40 and any("\\u0000" in e.model_dump_json() for e, _ in inputs)
    settings = CommonSettings(kafka_bootstrap=kafka_bootstrap, database_url=SecretStr(app_dsn))
    await ensure_topics(kafka_bootstrap, partitions=settings.kafka_partitions)
    producer = create_producer(kafka_bootstrap, client_id="corpus-test")
    await producer.start()
    try:
        await Publisher(producer).publish_all([(Topics.SAGE_CHANGES, e) for e, _ in inputs])
    finally:
        await producer.stop()
    stop = asyncio.Event()
    mapper = asyncio.create_task(serve(stop, settings))
    try:
        seen = await _outputs_of(tenant, kafka_bootstrap, expected=len(inputs))
    finally:
        stop.set()
        await mapper
    for event, field in inputs:
        out = seen.get(event.event_id, [])
        if field is None:
            assert out and all(isinstance(o, ZohoUpsertCommand) for o in out), event.source_key
            continue
        [letter] = out
        assert isinstance(letter, DeadLetter) and letter.field == field
        assert f"tenant {tenant}, {event.entity} {event.source_key}:" in letter.error_message
        assert field in letter.error_message and letter.original["event_id"] == str(event.event_id)


async def _outputs_of(
    tenant: str, bootstrap: str, *, expected: int
) -> dict[uuid.UUID, list[ZohoUpsertCommand | DeadLetter]]:
    """Commands and letters of `tenant`, by the raw event that caused them, until every raw
    event has its output (or 120 s pass)."""
    consumer = AIOKafkaConsumer(
        Topics.ZOHO_COMMANDS,
        Topics.DEAD_LETTERS,
        bootstrap_servers=bootstrap,
        group_id=f"corpus-test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen: dict[uuid.UUID, list[ZohoUpsertCommand | DeadLetter]] = {}
    try:
        async with asyncio.timeout(120):
            while len(seen) < expected:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        try:
                            message = decode(record.value or b"")
                        except ValidationError:
                            continue  # other tests' deliberately malformed messages
                        if message.tenant_id != tenant or message.causation_id is None:
                            continue
                        if isinstance(message, ZohoUpsertCommand | DeadLetter):
                            seen.setdefault(message.causation_id, []).append(message)
    finally:
        await consumer.stop()
    return seen
