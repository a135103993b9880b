"""Every SOAP call is an OpenTelemetry CLIENT span: operation and company, never the logon."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from mlc_core.sage.errors import SageAuthError
from mlc_core.sage.soap import SageSoapClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import SecretStr
from sage100_emulator.app import create_app
from sage100_emulator.state import SageState

from tests.services.sage_agent.servers import serve

PASSWORD = "secret"


@pytest.fixture(scope="module")
def wsdl() -> Iterator[str]:
    state = SageState()
    state.generate_company("ABC", 5, seed=4)
    with serve(create_app(state)) as url:
        yield f"{url}/ws/eBusinessWebServices.svc?wsdl"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def soap(
    http: httpx.AsyncClient, wsdl: str, exporter: InMemorySpanExporter, password: str
) -> SageSoapClient:
    provider = TracerProvider()  # not the process-wide one: this test reads only its own spans
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return SageSoapClient(
        wsdl_url=wsdl,
        username="WEBSVC",
        password=SecretStr(password),
        company="ABC",
        http=http,
        tracer=provider.get_tracer("test"),
    )


def assert_no_logon(span: ReadableSpan) -> None:
    values = [str(v) for v in (span.attributes or {}).values()]
    values += [str(v) for e in span.events for v in (e.attributes or {}).values()]
    assert not any(PASSWORD in v or "WEBSVC" in v for v in values)


async def test_calls_are_client_spans_named_by_operation(
    wsdl: str, exporter: InMemorySpanExporter
) -> None:
    async with httpx.AsyncClient() as http:
        await soap(http, wsdl, exporter, PASSWORD).check_logon()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["SOAP GetContractInformation", "SOAP GetCustomer"]
    for span in spans:
        assert span.kind is SpanKind.CLIENT
        attributes = dict(span.attributes or {})
        assert attributes["rpc.system"] == "soap"
        assert attributes["rpc.method"] == span.name.removeprefix("SOAP ")
        assert attributes["mlc.sage.company"] == "ABC"
        assert attributes["server.address"] == "127.0.0.1"
        assert_no_logon(span)
    # the probe's "no such customer" proves the logon; the span says what happened
    assert spans[1].status.status_code is StatusCode.ERROR
    assert any(e.name == "exception" for e in spans[1].events)


async def test_a_refused_logon_is_an_error_span_without_the_password(
    wsdl: str, exporter: InMemorySpanExporter
) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(SageAuthError):
            await soap(http, wsdl, exporter, "wrong-" + PASSWORD).get_customer("01", "X")
    (span,) = exporter.get_finished_spans()
    assert span.name == "SOAP GetCustomer" and span.status.status_code is StatusCode.ERROR
    (event,) = [e for e in span.events if e.name == "exception"]
    assert str((event.attributes or {})["exception.type"]).endswith("SageAuthError")
    assert_no_logon(span)
