"""An audit row keeps the W3C trace id of the delivery it came from, and nothing else: a missing
or malformed `traceparent` leaves it None and never fails the row."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from audit.service import to_row
from audit.trail import build_trail
from mlc_core.contracts import encode
from mlc_core.telemetry import trace_id_of
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tests.factories import raw_event

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@dataclass
class Delivered:
    """A consumed record with headers, as aiokafka hands it over."""

    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    key: bytes | None = None
    topic: str = "mlc.sage.changes"
    partition: int = 0
    offset: int = 0


def traceparent_header(trace_id: str) -> list[tuple[str, bytes]]:
    return [("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01".encode())]


def test_the_traceparent_headers_trace_id_is_kept() -> None:
    headers = [("traceparent", TRACEPARENT.encode()), ("mlc-correlation-id", b"c")]
    row = to_row(Delivered(encode(raw_event()), headers))
    assert row.trace_id == TRACE
    assert row.as_tuple()[-1] == TRACE


@pytest.mark.parametrize(
    "header",
    [
        None,
        b"garbage",
        b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # the invalid all-zero id
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01".encode(),  # W3C: lower-case hex only
        f"ff-{TRACE}-00f067aa0ba902b7-01".encode(),  # version ff is forbidden
        f"00-{TRACE}-0000000000000000-01".encode(),  # the invalid all-zero parent
        f"00-{TRACE[:-1]}-00f067aa0ba902b7-01".encode(),
        b"\xff\xfe\x00",
        b"",
    ],
)
def test_no_or_a_malformed_traceparent_stores_none(header: bytes | None) -> None:
    headers = [] if header is None else [("traceparent", header)]
    event = raw_event()
    row = to_row(Delivered(encode(event), headers))
    assert row.trace_id is None
    assert row.event_id == event.event_id  # the event itself is stored as ever


HEADERS = [
    TRACEPARENT,
    f" {TRACEPARENT}\t",
    f"{TRACEPARENT}\n",
    f"{TRACEPARENT}\n-x",
    f"{TRACEPARENT}-future",  # version 00 allows nothing after the flags
    f"01-{TRACE}-00f067aa0ba902b7-01-future",  # a later version may append fields
    f"ff-{TRACE}-00f067aa0ba902b7-01",
    f"00-{TRACE}-00f067aa0ba902b7-1",
    f"00-{TRACE}-00f067aa0ba902b7-zz",
    f"00-{'0' * 32}-00f067aa0ba902b7-01",
    f"00-{TRACE}-{'0' * 16}-01",
    f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
    f"x00-{TRACE}-00f067aa0ba902b7-01",
    "",
    "\ufffd",
]


@pytest.mark.parametrize("header", HEADERS)
def test_the_trace_id_is_what_opentelemetrys_propagator_reads(header: str) -> None:
    """The services' consumer spans join the trace OpenTelemetry's W3C propagator reads from the
    same header; the audit must store that trace, and no other."""
    context = TraceContextTextMapPropagator().extract({"traceparent": header})
    span = trace.get_current_span(context).get_span_context()
    expected = trace.format_trace_id(span.trace_id) if span.is_valid else None
    assert trace_id_of(Delivered(None, [("traceparent", header.encode())])) == expected


def test_the_last_traceparent_header_counts_as_for_the_consumer_span() -> None:
    other = "0af7651916cd43dd8448eb211c80319c"
    headers = [
        ("traceparent", TRACEPARENT.encode()),
        ("traceparent", f"00-{other}-b7ad6b7169203331-01".encode()),
    ]
    assert trace_id_of(Delivered(None, headers)) == other


def test_an_undecodable_message_keeps_its_trace_id_too() -> None:
    row = to_row(Delivered(b"\x00\xff{", [("traceparent", TRACEPARENT.encode())]))
    assert row.event_type == "mlc.undecodable" and row.trace_id == TRACE


def test_the_trail_shows_each_events_trace_id() -> None:
    with_trace = to_row(Delivered(encode(raw_event()), [("traceparent", TRACEPARENT.encode())]))
    without = to_row(Delivered(encode(raw_event())))
    rows = [
        {
            "event_id": r.event_id,
            "event_type": r.event_type,
            "causation_id": r.causation_id,
            "occurred_at": r.occurred_at,
            "recorded_at": r.occurred_at,
            "payload": r.payload,
            "topic": r.topic,
            "kafka_partition": r.partition,
            "kafka_offset": r.offset,
            "trace_id": r.trace_id,
        }
        for r in (with_trace, without)
    ]
    entries = build_trail(rows)
    assert [e.as_json()["trace_id"] for e in entries] == [TRACE, None]
