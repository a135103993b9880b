"""The demo's own OTLP/HTTP receiver: the services export their traces and metrics here, with
no collector installed.

Metrics: the latest `mlc.records` counters (per service, tenant, entity and stage) feed the live
view; reading them costs nothing, where counting the audit log on every refresh grew to a second
of PostgreSQL time per refresh at 25,000 events. Traces: an index, not the spans, of which trace
each published event (by event id) belongs to and which services each trace touched, so the
summary can name a real record's trace. When the user runs a collector or Jaeger
(OTEL_EXPORTER_OTLP_ENDPOINT set), every export is passed on to it unchanged.
"""

from __future__ import annotations

import gzip
import threading
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

RecordCounter = tuple[str, str, str, str]  # service, tenant, entity, stage


@dataclass
class Received:
    trace_of_event: dict[str, str] = field(default_factory=dict)
    services_of_trace: dict[str, set[str]] = field(default_factory=dict)
    spans_of_trace: dict[str, int] = field(default_factory=dict)
    records: dict[RecordCounter, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for resource_spans in request.resource_spans:
                service = _service_name(resource_spans.resource)
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self._add_span(service, span)

    def _add_span(self, service: str, span: Any) -> None:
        trace_id = span.trace_id.hex()
        self.services_of_trace.setdefault(trace_id, set()).add(service)
        self.spans_of_trace[trace_id] = self.spans_of_trace.get(trace_id, 0) + 1
        for attribute in span.attributes:
            if attribute.key == "mlc.event_id":
                self.trace_of_event[attribute.value.string_value] = trace_id

    def add_metrics(self, body: bytes) -> None:
        request = ExportMetricsServiceRequest.FromString(body)
        with self.lock:
            for resource_metrics in request.resource_metrics:
                service = _service_name(resource_metrics.resource)
                for scope in resource_metrics.scope_metrics:
                    for metric in scope.metrics:
                        if metric.name == "mlc.records":
                            self._add_records(service, metric.sum.data_points)

    def _add_records(self, service: str, points: Any) -> None:
        for point in points:  # cumulative sums: the latest value is the total so far
            labels = {a.key: a.value.string_value for a in point.attributes}
            key = (service, labels.get("tenant", ""), labels.get("entity", ""), labels["stage"])
            self.records[key] = int(point.as_int)

    def record_counts(self, tenant_id: str) -> dict[tuple[str, str, str], int]:
        """(service, entity, stage) -> records so far, for one tenant."""
        with self.lock:
            return {
                (s, e, stage): n for (s, t, e, stage), n in self.records.items() if t == tenant_id
            }

    def trace_for(self, event_id: str) -> tuple[str, list[str], int] | None:
        """The trace an event was published in, the services in it, and its span count."""
        with self.lock:
            trace_id = self.trace_of_event.get(event_id)
            if trace_id is None:
                return None
            return trace_id, sorted(self.services_of_trace[trace_id]), self.spans_of_trace[trace_id]


def _service_name(resource: Any) -> str:
    for attribute in resource.attributes:
        if attribute.key == "service.name":
            return str(attribute.value.string_value)
    return "?"


class OtlpReceiver:
    """POST /v1/traces and /v1/metrics on 127.0.0.1, on a background thread."""

    def __init__(self, *, forward_to: str | None = None) -> None:
        self.index = Received()
        index, forward = self.index, (forward_to or "").rstrip("/") or None

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gzipped = self.headers.get("Content-Encoding") == "gzip"
                body = gzip.decompress(raw) if gzipped else raw
                if self.path.endswith("/v1/traces"):
                    index.add(body)
                elif self.path.endswith("/v1/metrics"):
                    index.add_metrics(body)
                if forward is not None:
                    _forward(f"{forward}{self.path}", raw, self.headers.get("Content-Encoding"))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """OTEL_* for the services: export here, spans within a second, metrics every two."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_BSP_SCHEDULE_DELAY": "1000",
            "OTEL_METRIC_EXPORT_INTERVAL": "2000",
        }

    def start(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _forward(url: str, body: bytes, encoding: str | None) -> None:
    headers = {"Content-Type": "application/x-protobuf"}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the user's own endpoint
            pass
    except OSError:
        pass  # the user's collector is down: the demo still has its own copy of the index
