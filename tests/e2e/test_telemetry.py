"""One record change's trace crosses all four services, as the services export it over OTLP.

The services run as processes with only the standard OTEL_* variables set (conftest points them
at an in-process OTLP/HTTP receiver); nothing here reaches into them.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack
from mlc_ops.audit import trail

from tests.e2e.conftest import eventually, onboard, zoho_accounts
from tests.e2e.otlp_receiver import OtlpReceiver, Point, Span

TENANT, COMPANY = "traced", "TRC"
SERVICES = {"sage-poller", "mapper", "zoho-writer", "audit"}


@pytest.fixture(scope="module")
async def traced(
    services: DevStack, app_pool: asyncpg.Pool, keyring: KeyRing, sage: httpx.AsyncClient
) -> DevStack:
    await onboard(
        services, app_pool, keyring, sage, tenant=TENANT, company=COMPANY, customers=20, seed=3
    )
    return services


def has(span: Span, text: str) -> bool:
    return any(text in str(value) for value in span.attributes.values())


def record_trace(spans: list[Span], trace_id: str) -> list[Span]:
    """The record's trace, plus batch traces that link to it (handlers that ran for a batch)."""
    linked = {s.trace_id for s in spans if trace_id in s.links}
    return [s for s in spans if s.trace_id == trace_id or s.trace_id in linked]


def complete_trace(spans: list[Span], key: str) -> tuple[str, list[Span]] | None:
    """The newest trace of `key`'s change that reached every service, Zoho and the audit log."""
    roots = [
        s
        for s in spans
        if s.service == "sage-poller" and s.attributes.get("mlc.source_key") == key
        and s.attributes.get("mlc.tenant") == TENANT
    ]  # fmt: skip
    for root in reversed(roots):
        found = record_trace(spans, root.trace_id)
        in_trace = [s for s in found if s.trace_id == root.trace_id]
        zoho_call = any(s.service == "zoho-writer" and has(s, "/upsert") for s in found)
        # The audit log is appended through audit_append(), which chains each row by hash.
        audit_insert = any(s.service == "audit" and has(s, "audit_append") for s in found)
        if {s.service for s in in_trace} >= SERVICES and zoho_call and audit_insert:
            return root.trace_id, found
    return None


async def test_one_record_change_is_one_trace_across_all_four_services(
    traced: DevStack,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
    otlp: OtlpReceiver,
    app_pool: asyncpg.Pool,
) -> None:
    accounts = await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: len(a) >= 20,
        what="20 accounts",
        stack=traced,
    )
    key = sorted(a["Sage_Customer_No"] for a in accounts)[5]
    edit = {"ARDivisionNo": key[:2], "CustomerNo": key[3:], "City": "Tracetown"}
    stored = await sage.post(
        f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": [edit]}
    )
    assert stored.status_code == 200, stored.text

    async def spans_now() -> list[Span]:
        return otlp.received.snapshot()[0]

    spans = await eventually(
        spans_now,
        lambda s: complete_trace(s, key) is not None,
        what="a complete trace",
        stack=traced,
    )
    complete = complete_trace(spans, key)
    assert complete is not None
    trace_id, found = complete
    in_trace = [s for s in found if s.trace_id == trace_id]
    names = {(s.service, s.name) for s in in_trace}
    assert ("sage-poller", "mlc.sage.changes publish") in names
    assert ("mapper", "mlc.sage.changes process") in names
    assert ("mapper", "mlc.zoho.commands publish") in names
    assert ("zoho-writer", "mlc.zoho.commands process") in names
    assert ("zoho-writer", "mlc.zoho.outcomes publish") in names
    assert {s.service for s in in_trace if s.name.endswith(" process")} >= SERVICES - {
        "sage-poller"
    }
    # One trace per record change: other keys' changes are not in it.
    keys = {s.attributes["mlc.source_key"] for s in in_trace if "mlc.source_key" in s.attributes}
    assert keys == {key}

    # The audit log keeps the trace id each event was delivered in: the change's poll, command
    # and Zoho answer carry the very trace the services exported (what the console links to).
    async def steps_in_trace() -> set[str]:
        found = await trail(pool=app_pool, tenant_id=TENANT, entity="ar_customer", key=key)
        return {e.kind for e in found.entries if e.trace_id == trace_id}

    steps = await eventually(
        steps_in_trace,
        lambda k: {"poll", "command"} <= k and bool(k & {"written", "skipped"}),
        what="the change's audit events in its trace",
        stack=traced,
    )
    assert "write failed" not in steps


def points(received: list[Point], metric: str, **attributes: Any) -> list[Point]:
    return [
        p
        for p in received
        if p.metric == metric and all(p.attributes.get(k) == v for k, v in attributes.items())
    ]


async def test_records_are_counted_per_stage(traced: DevStack, otlp: OtlpReceiver) -> None:
    async def points_now() -> list[Point]:
        return otlp.received.snapshot()[1]

    def counted(received: list[Point]) -> bool:
        stages = {"polled": "sage-poller", "mapped": "mapper", "written": "zoho-writer"}
        return all(
            any(
                p.service == service and p.value >= 20
                for p in points(received, "mlc.records", stage=stage, tenant=TENANT)
            )
            for stage, service in stages.items()
        )

    received = await eventually(points_now, counted, what="record counters", stack=traced)
    assert points(received, "mlc.consumer.lag")
    assert points(received, "mlc.zoho.token_refreshes")


async def test_agent_calls_are_client_spans_of_the_poller(
    traced: DevStack, otlp: OtlpReceiver
) -> None:
    """The poller's calls to the on-premises agent (httpx) are spans too, with their URL."""

    async def agent_spans() -> list[Span]:
        return [
            s
            for s in otlp.received.snapshot()[0]
            if s.service == "sage-poller" and has(s, traced.config.agent_url)
        ]

    found = await eventually(agent_spans, bool, what="a span of an agent call", stack=traced)
    assert all(s.name.split()[0] in {"GET", "POST"} for s in found)
    assert not any(has(s, traced.config.sage_agent_token) for s in found)  # never the token
