"""An in-process OTLP/HTTP receiver: what the services export lands here, decoded.

It accepts POST /v1/traces and /v1/metrics (protobuf, as opentelemetry-exporter-otlp-proto-http
sends them) on a background thread and keeps every span and metric point in memory.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    links: tuple[str, ...]  # trace ids this span links to
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Point:
    service: str
    metric: str
    value: float
    attributes: dict[str, Any]


@dataclass
class Received:
    spans: list[Span] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> tuple[list[Span], list[Point]]:
        with self.lock:
            return list(self.spans), list(self.points)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _attributes(items: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in items}


def _service(resource: Any) -> str:
    return str(_attributes(resource.attributes).get("service.name", "?"))


def decode_spans(body: bytes) -> Iterator[Span]:
    request = ExportTraceServiceRequest.FromString(body)
    for resource_spans in request.resource_spans:
        service = _service(resource_spans.resource)
        for scope in resource_spans.scope_spans:
            for s in scope.spans:
                yield Span(
                    service=service,
                    name=s.name,
                    trace_id=s.trace_id.hex(),
                    span_id=s.span_id.hex(),
                    parent_id=s.parent_span_id.hex(),
                    links=tuple(link.trace_id.hex() for link in s.links),
                    attributes=_attributes(s.attributes),
                )


def decode_points(body: bytes) -> Iterator[Point]:
    request = ExportMetricsServiceRequest.FromString(body)
    for resource_metrics in request.resource_metrics:
        service = _service(resource_metrics.resource)
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                data = getattr(metric, metric.WhichOneof("data") or "sum", None)
                for p in getattr(data, "data_points", []):
                    yield Point(service, metric.name, _number(p), _attributes(p.attributes))


def _number(point: Any) -> float:
    """A sum or gauge point's value; a histogram point's sum."""
    if "as_int" in point.DESCRIPTOR.fields_by_name:
        return float(point.as_int if point.WhichOneof("value") == "as_int" else point.as_double)
    return float(point.sum)


class OtlpReceiver:
    def __init__(self) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with received.lock:
                    if self.path.endswith("/v1/traces"):
                        received.spans.extend(decode_spans(body))
                    elif self.path.endswith("/v1/metrics"):
                        received.points.extend(decode_points(body))
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

    def start(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def otlp_env(endpoint: str) -> dict[str, str]:
    """The standard OTEL_* variables pointing the services at `endpoint`, exporting quickly."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "1000",
        "OTEL_METRIC_EXPORT_INTERVAL": "2000",
    }
