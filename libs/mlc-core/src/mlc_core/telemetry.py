"""OpenTelemetry for every service: one trace per record change, across Kafka, plus metrics.

Export is configured only by the standard variables and is off when they are unset:
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / _METRICS_ENDPOINT),
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
OTEL_METRIC_EXPORT_INTERVAL, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER/OTEL_METRICS_EXPORTER=none.
The exporter is OTLP over HTTP/protobuf (port 4318 on a collector, Jaeger or Tempo).

How a record's trace crosses services: every Kafka message carries W3C `traceparent` and our
correlation id in its headers. A consumer opens one span per message, as a child of the
producer's, and remembers it by correlation id; whatever the handler then publishes for the same
correlation id becomes a child of that span. A message with no consumed parent (a poll's change,
a replay) starts a new trace, linked to the span that was current. A batch of one record runs its
handler inside the record's span, so the Zoho call and the audit insert join that trace; a
bigger batch runs inside a batch span linked to every record's span.

OpenTelemetry's providers are process-global by design; this module only installs them.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Link, SpanKind
from pydantic import BaseModel

CORRELATION_HEADER = "mlc-correlation-id"
Headers = list[tuple[str, bytes]]
_record_spans: contextvars.ContextVar[dict[str, trace.Span] | None] = contextvars.ContextVar(
    "mlc_record_spans", default=None
)
_tracer = trace.get_tracer("mlc_core.kafka")
# W3C Trace Context: version-traceid-parentid-flags, lower-case hex, later versions may append.
_TRACEPARENT = re.compile(
    r"^[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?[ \t]*$"
)
_meter = metrics.get_meter("mlc_core")
RECORDS = _meter.create_counter(
    "mlc.records", unit="{record}", description="records per stage: polled, mapped, written, …"
)
BATCH_RETRIES = _meter.create_counter(
    "mlc.batch.retries", unit="{retry}", description="Kafka batches retried from the same offset"
)
CONSUMER_LAG = _meter.create_gauge(
    "mlc.consumer.lag", unit="{message}", description="messages behind the partition's end"
)
TOKEN_REFRESHES = _meter.create_counter(
    "mlc.zoho.token_refreshes", unit="{call}", description="calls to Zoho's token endpoint"
)
CREDITS_LEFT = _meter.create_gauge(
    "mlc.zoho.credits_left", unit="{credit}", description="X-API-CREDITS-REMAINING (when sent)"
)
ZOHO_RETRYABLE = _meter.create_counter(
    "mlc.zoho.retryable_responses", unit="{response}", description="Zoho 429 and 5xx answers"
)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _wanted(signal: str) -> bool:
    if _flag("OTEL_SDK_DISABLED") or os.environ.get(f"OTEL_{signal}_EXPORTER") == "none":
        return False
    specific = f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(specific))


@dataclass
class Telemetry:
    """What configure_telemetry installed; shutdown() flushes spans and metrics at exit."""

    service: str
    providers: list[Any] = field(default_factory=list)

    @property
    def exporting(self) -> bool:
        return bool(self.providers)

    def shutdown(self) -> None:
        for provider in self.providers:
            provider.shutdown()


def configure_telemetry(service: str) -> Telemetry:
    """Install OTLP export (when OTEL_* ask for it) and instrument httpx and asyncpg."""
    from opentelemetry.sdk.resources import Resource

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service}
    resource = Resource.create(attributes)
    telemetry = Telemetry(service)
    if _wanted("TRACES"):
        telemetry.providers.append(_trace_provider(resource))
    if _wanted("METRICS"):
        telemetry.providers.append(_meter_provider(resource))
    if telemetry.exporting:
        _instrument_libraries()
    return telemetry


def _trace_provider(resource: Any) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def _meter_provider(resource: Any) -> Any:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(provider)
    return provider


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(async_response_hook=_zoho_response_hook)
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]


async def _zoho_response_hook(span: trace.Span, request: Any, response: Any) -> None:
    """Zoho metrics read off every HTTP answer: token refreshes, credits left, 429/5xx."""
    # request is (method, url, headers, …) and response (status_code, headers, …): named tuples
    url, status, headers = request[1], response[0], response[1]
    path, host = str(getattr(url, "path", "") or ""), str(getattr(url, "host", "") or "")
    if path.endswith("/oauth/v2/token"):
        TOKEN_REFRESHES.add(1, {"server": host, "status": status})
    elif "/crm/" in path:
        credits = _header(headers, "x-api-credits-remaining")
        if credits is not None and credits.isdigit():
            CREDITS_LEFT.set(int(credits), {"api_domain": host})
        if status == 429 or status >= 500:
            ZOHO_RETRYABLE.add(1, {"api_domain": host, "status": status})


def _header(headers: Any, name: str) -> str | None:
    for key, value in headers if isinstance(headers, list | tuple) else headers.items():
        key_text = key.decode() if isinstance(key, bytes) else str(key)
        if key_text.lower() == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


# --- Kafka: producing ---------------------------------------------------------------------------


def _field(event: Any, name: str, default: Any = None) -> Any:
    """An event's field. Pydantic models keep every field in __dict__; asking getattr for one
    a model lacks goes through pydantic's __getattr__ and builds a formatted AttributeError,
    which would dominate this module's cost per published message."""
    values = getattr(event, "__dict__", None)
    if values is not None and name in values:
        return values[name]
    if isinstance(event, BaseModel):
        return default
    return getattr(event, name, default)


def stage_of(event: Any) -> str:
    """The `mlc.records` stage an event counts as."""
    event_type = str(_field(event, "event_type", type(event).__name__))
    status = _field(event, "status")
    if event_type == "zoho.write.outcome" and status is not None:
        return {"succeeded": "written", "failed": "failed"}.get(str(status), str(status))
    names = {"sage.record.changed": "polled", "zoho.upsert.requested": "mapped"}
    return names.get(event_type, "dead_lettered" if "dead" in event_type else event_type)


def start_publish_span(topic: str, event: Any) -> tuple[trace.Span, Headers]:
    """A PRODUCER span for one message and the headers that carry it to the consumer."""
    correlation = str(_field(event, "correlation_id", ""))
    parent = (_record_spans.get() or {}).get(correlation)
    if parent is not None:
        ctx, links = trace.set_span_in_context(parent), None
    else:  # a new record change (or a replay): its own trace, linked to what caused it
        current = trace.get_current_span().get_span_context()
        ctx, links = otel_context.Context(), [Link(current)] if current.is_valid else None
    span = _tracer.start_span(
        f"{topic} publish", context=ctx, kind=SpanKind.PRODUCER, links=links,
        attributes=_event_attributes(topic, event),
    )  # fmt: skip
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    headers = [(k, v.encode()) for k, v in carrier.items()]
    RECORDS.add(1, record_attributes(event))
    return span, [*headers, (CORRELATION_HEADER, correlation.encode())]


def record_attributes(event: Any) -> dict[str, str]:
    """`mlc.records` attributes: 8 entities x a few stages per tenant stays a small set."""
    return {
        "stage": stage_of(event),
        "tenant": str(_field(event, "tenant_id", "")),
        "entity": str(_field(event, "entity") or ""),
    }


def _event_attributes(topic: str, event: Any) -> dict[str, str]:
    attributes = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "mlc.event_type": str(_field(event, "event_type", "")),
        "mlc.tenant": str(_field(event, "tenant_id", "")),
    }
    for name in ("entity", "source_key", "correlation_id", "event_id"):
        if (value := _field(event, name)) is not None:
            attributes[f"mlc.{name}"] = str(value)
    return attributes


# --- Kafka: consuming ---------------------------------------------------------------------------


def _headers_of(record: Any) -> dict[str, str]:
    return {
        key: value.decode(errors="replace")
        for key, value in (getattr(record, "headers", None) or ())
        if isinstance(value, bytes)
    }


def trace_id_of(record: Any) -> str | None:
    """The W3C trace id (32 hex digits) a consumed record's `traceparent` header carries; None
    when it has none or one the W3C rules refuse (the audit log stores it beside the event).
    The rules are the propagator's (tests hold the two to the same answers); matched here
    without building a span context, as the audit does it for every event it stores."""
    match = _TRACEPARENT.search(_headers_of(record).get("traceparent", ""))
    if match is None:
        return None
    version, trace_id, span_id, extra = match.groups()
    refused = version == "ff" or (version == "00" and extra)
    return None if refused or not trace_id.strip("0") or not span_id.strip("0") else trace_id


def _consume_span(record: Any, group: str) -> tuple[trace.Span, str | None]:
    headers = _headers_of(record)
    span = _tracer.start_span(
        f"{record.topic} process",
        context=propagate.extract(headers),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": record.topic,
            "messaging.consumer.group.name": group,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
        },
    )
    return span, headers.get(CORRELATION_HEADER)


@contextmanager
def consuming(records: Sequence[Any], *, group: str) -> Iterator[None]:
    """Spans for one partition's batch, around the handler (see the module docstring)."""
    spans = [_consume_span(record, group) for record in records]
    token = _record_spans.set({c: span for span, c in spans if c})
    with ExitStack() as stack:
        if len(spans) == 1:
            stack.enter_context(trace.use_span(spans[0][0], end_on_exit=False))
        else:
            links = [Link(span.get_span_context()) for span, _ in spans]
            batch = _tracer.start_span(f"{records[0].topic} batch", links=links)
            stack.enter_context(trace.use_span(batch, end_on_exit=True))
        try:
            yield
        finally:
            _record_spans.reset(token)
            for span, _ in spans:
                span.end()
