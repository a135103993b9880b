"""Trace context across Kafka headers, record-to-span bookkeeping, trace ids in logs, probes."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from mlc_core.contracts import Entity, OutcomeStatus, SageRecordChanged, ZohoWriteOutcome
from mlc_core.health import Readiness, serve_probes
from mlc_core.logging import JsonFormatter
from mlc_core.telemetry import (
    CORRELATION_HEADER,
    configure_telemetry,
    consuming,
    record_attributes,
    stage_of,
    start_publish_span,
)
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider() -> None:
    sdk = TracerProvider()
    sdk.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(sdk)  # process-wide; only this module's tests read spans


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    EXPORTER.clear()
    yield EXPORTER


@dataclass
class FakeRecord:
    topic: str
    headers: list[tuple[str, bytes]]
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    value: bytes | None = None
    extra: dict[str, str] = field(default_factory=dict)


def change(key: str = "01-0000001") -> SageRecordChanged:
    return SageRecordChanged(
        tenant_id="acme",
        correlation_id=uuid.uuid4(),
        entity=Entity.AR_CUSTOMER,
        source_key=key,
        company_code="ABC",
        source_version="20260101 10.0000000",
        record={},
    )


def published(topic: str, event: SageRecordChanged) -> tuple[ReadableSpan, FakeRecord]:
    span, headers = start_publish_span(topic, event)
    span.end()
    return EXPORTER.get_finished_spans()[-1], FakeRecord(topic, headers)


def by_name(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def test_a_change_starts_its_own_trace_and_the_headers_carry_it(
    spans: InMemorySpanExporter,
) -> None:
    event = change()
    span, record = published("mlc.sage.changes", event)
    headers = dict(record.headers)
    assert span.parent is None and span.context is not None
    assert headers["traceparent"].decode().split("-")[1] == f"{span.context.trace_id:032x}"
    assert headers[CORRELATION_HEADER] == str(event.correlation_id).encode()
    assert span.attributes is not None and span.attributes["mlc.source_key"] == "01-0000001"


def test_what_a_consumer_publishes_joins_the_record_trace(spans: InMemorySpanExporter) -> None:
    event = change()
    produced, record = published("mlc.sage.changes", event)
    assert produced.context is not None
    with consuming([record], group="mlc-mapper"):
        span, _ = start_publish_span("mlc.zoho.commands", event.model_copy())
        span.end()
    [consumed] = by_name(spans, "mlc.sage.changes process")
    [command] = by_name(spans, "mlc.zoho.commands publish")
    assert consumed.context is not None and command.context is not None
    assert consumed.parent is not None and consumed.parent.span_id == produced.context.span_id
    assert command.parent is not None and command.parent.span_id == consumed.context.span_id
    trace_ids = {s.context.trace_id for s in (produced, consumed, command) if s.context}
    assert trace_ids == {produced.context.trace_id}


def test_a_batch_of_several_records_links_each_and_keeps_traces_apart(
    spans: InMemorySpanExporter,
) -> None:
    first, second = change("01-A"), change("01-B")
    (p1, r1), (p2, r2) = published("t", first), published("t", second)
    assert p1.context is not None and p2.context is not None
    with consuming([r1, r2], group="g"):
        inner = trace.get_current_span()
        out, _ = start_publish_span("out", second)
        out.end()
    [batch] = by_name(spans, "t batch")
    assert batch.context is not None and inner.get_span_context() == batch.context
    assert len(batch.links) == 2
    [result] = by_name(spans, "out publish")
    assert result.context is not None and result.context.trace_id == p2.context.trace_id


def test_messages_without_headers_still_get_spans(spans: InMemorySpanExporter) -> None:
    with consuming([FakeRecord("legacy", headers=[])], group="g"):
        pass
    [span] = by_name(spans, "legacy process")
    assert span.parent is None


def test_log_lines_carry_the_trace_id(spans: InMemorySpanExporter) -> None:
    formatter = JsonFormatter("mapper")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = json.loads(formatter.format(record))
    assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert "trace_id" not in json.loads(formatter.format(record))


def test_stages_counted_per_event_kind() -> None:
    outcome = ZohoWriteOutcome(
        tenant_id="acme",
        correlation_id=uuid.uuid4(),
        entity=Entity.AR_CUSTOMER,
        source_key="k",
        module="Accounts",
        external_value="k",
        source_version="v",
        status=OutcomeStatus.FAILED,
    )
    assert stage_of(change()) == "polled"
    assert stage_of(outcome) == "failed"
    assert stage_of(outcome.model_copy(update={"status": OutcomeStatus.SUCCEEDED})) == "written"
    # per entity too: the demo's live view reads these counters
    assert record_attributes(outcome) == {
        "stage": "failed",
        "tenant": "acme",
        "entity": "ar_customer",
    }


def test_plain_objects_and_models_without_a_field_are_read_alike() -> None:
    """Fields are read from a model's __dict__ (fast); anything else still through getattr."""

    class Plain:
        event_type = "zoho.write.outcome"
        status = "skipped"
        tenant_id = "acme"

    assert stage_of(Plain()) == "skipped"
    assert record_attributes(Plain()) == {"stage": "skipped", "tenant": "acme", "entity": ""}
    assert record_attributes(change()) == {
        "stage": "polled",
        "tenant": "acme",
        "entity": "ar_customer",
    }


def test_export_is_off_without_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", raising=False)
    assert not configure_telemetry("mapper").exporting


async def _failing() -> None:
    raise ConnectionError("broker down")


async def _passing() -> None:
    return None


async def test_probes_answer_liveness_and_readiness() -> None:
    stop = asyncio.Event()
    ready = Readiness(checks={"kafka": _passing, "postgres": _passing}, stop=stop)
    broken = Readiness(checks={"kafka": _failing, "postgres": _passing}, stop=stop)
    servers = [await serve_probes("127.0.0.1", 0, r) for r in (ready, broken)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            base_ok, base_bad = (f"http://127.0.0.1:{p}" for p in ports)
            assert (await http.get(f"{base_bad}/healthz")).status_code == 200
            assert (await http.get(f"{base_ok}/readyz")).status_code == 200
            answer = await http.get(f"{base_bad}/readyz")
            assert answer.status_code == 503
            assert "broker down" in answer.json()["failed"]["kafka"]
            stop.set()
            stopping = await http.get(f"{base_ok}/readyz")
            assert (stopping.status_code, stopping.json()["failed"]) == (
                503,
                {"service": "stopping"},
            )
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()
