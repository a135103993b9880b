"""Where the demo's summary sends the reader for a record's trace."""

from __future__ import annotations

import pytest
from mlc_devtools.demo_summary import trace_lines

TRACE = ("70c054f1aae24750d17059634a95c9aa", ["audit", "mapper", "sage-poller", "zoho-writer"], 8)


def test_with_the_demos_jaeger_it_links_the_trace_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_JAEGER_URL", "http://127.0.0.1:16686")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    first, link = trace_lines(TRACE)
    assert (
        first == f"  its trace {TRACE[0]}: 8 spans across audit, mapper, sage-poller, zoho-writer"
    )
    assert f"http://127.0.0.1:16686/api/traces/{TRACE[0]} " in link


def test_without_a_backend_it_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_JAEGER_URL", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert (
        trace_lines(TRACE)[1].strip() == "to keep the traces in Jaeger: MLC_TRACES=jaeger make demo"
    )
    assert "not received" in trace_lines(None)[0]
