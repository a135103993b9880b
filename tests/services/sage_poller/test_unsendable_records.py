"""A record Kafka cannot carry costs that record, not the tenant's poll (issue 14).

The agent here is hostile on purpose (an old or broken agent: a lone surrogate as a raw JSON
escape, records bigger than Kafka's message limit), served over HTTP to the real poller code,
whose outbox is on the real PostgreSQL and whose events go to the real Kafka. Before the fix a
lone surrogate failed the outbox commit on every poll (the dead letter carried the raw record)
and an oversized event failed every drain: the watermark never moved and nothing went out.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.contracts import DeadLetter, Entity, SageRecordChanged, Topics
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Publisher
from mlc_core.unsendable import DEFAULT_MAX_MESSAGE_BYTES, UNENCODABLE_KEY
from sage_poller.store import PollerStore

from tests.services.sage_poller.sage_harness import (
    Harness,
    RecordingPublisher,
    add_sage_tenant,
    read_topic,
)

AGENT = "http://hostile-agent.test"


def customer(number: str, **columns: Any) -> dict[str, Any]:
    return {
        "ARDivisionNo": "01",
        "CustomerNo": number,
        "CustomerName": f"Customer {number}",
        "DateCreated": "20261120",
        "TimeCreated": "9.5",
        "DateUpdated": "20261126",
        "TimeUpdated": "10.25",
        **columns,
    }


class HostileAgent:
    """Answers the change feed with one page of records, as raw JSON text."""

    def __init__(self) -> None:
        self.page = '{"records": [], "next_cursor": null}'

    def serve(self, records_json: str) -> None:
        self.page = '{"records": [' + records_json + '], "next_cursor": null}'

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/changes"):
            return httpx.Response(200, content=self.page.encode("ascii"))
        return httpx.Response(404)


@pytest.fixture
async def hostile(
    app_pool: asyncpg.Pool, keyring: KeyRing, publisher: Publisher
) -> AsyncIterator[tuple[Harness, HostileAgent]]:
    agent = HostileAgent()
    side = SimpleNamespace(agent_url=AGENT)
    tenant = await add_sage_tenant(app_pool, keyring, side)  # type: ignore[arg-type]
    transport = httpx.MockTransport(agent.handle)
    async with httpx.AsyncClient(transport=transport) as http:
        harness = Harness(
            side,  # type: ignore[arg-type]
            tenant,
            PollerStore(app_pool),
            RecordingPublisher(publisher),
            http,
        )
        yield harness, agent


async def test_a_lone_surrogate_becomes_a_dead_letter_and_the_watermark_moves(
    hostile: tuple[Harness, HostileAgent], kafka_bootstrap: str
) -> None:
    harness, agent = hostile
    tenant_id, since = harness.tenant.tenant_id, time.time()
    bad = json.dumps(customer("BAD")).replace('"Customer BAD"', '"Mil\\udc9d"')
    agent.serve(bad + "," + json.dumps(customer("GOOD")))

    result = await harness.poll(Entity.AR_CUSTOMER)

    assert (result.invalid, result.emitted) == (1, 1)
    assert await harness.store.watermark(tenant_id, Entity.AR_CUSTOMER) is not None
    assert await harness.outbox.pending(tenant_id) == 0
    letters = await read_topic(kafka_bootstrap, Topics.DEAD_LETTERS, tenant_id, 1, since=since)
    [letter] = [e for e in letters if isinstance(e, DeadLetter)]
    assert (letter.entity, letter.source_key, letter.field) == (
        Entity.AR_CUSTOMER,
        "01-BAD",
        "CustomerName",
    )
    assert tenant_id in letter.error_message and "lone surrogate" in letter.error_message
    assert letter.original["CustomerName"] == "Mil\ufffd"
    exact = base64.b64decode(letter.original[UNENCODABLE_KEY]["CustomerName"])
    assert exact.decode("utf-8", "surrogatepass") == "Mil\udc9d"
    good = await read_topic(kafka_bootstrap, Topics.SAGE_CHANGES, tenant_id, 1, since=since)
    assert [e.source_key for e in good if isinstance(e, SageRecordChanged)] == ["01-GOOD"]


async def test_records_beyond_kafkas_limit_become_small_dead_letters(
    hostile: tuple[Harness, HostileAgent], kafka_bootstrap: str
) -> None:
    harness, agent = hostile
    tenant_id, since = harness.tenant.tenant_id, time.time()
    # Each text is within what Sage holds; together they exceed Kafka's default limit.
    wide = {f"UDF_NOTE_{n:02}": "x" * 60_000 for n in range(20)}
    huge = customer("HUGE", **wide, UDF_NOTE_99="y" * 64_000)
    invalid_huge = customer("WORSE", **wide, DateUpdated="2026-11-26")  # and it is invalid
    agent.serve(",".join(json.dumps(r) for r in (huge, invalid_huge, customer("SMALL"))))

    result = await harness.poll(Entity.AR_CUSTOMER)

    assert await harness.outbox.pending(tenant_id) == 0
    assert await harness.store.watermark(tenant_id, Entity.AR_CUSTOMER) is not None
    assert result.seen == 3
    letters = await read_topic(kafka_bootstrap, Topics.DEAD_LETTERS, tenant_id, 2, since=since)
    by_key = {e.source_key: e for e in letters if isinstance(e, DeadLetter)}
    assert set(by_key) == {"01-HUGE", "01-WORSE"}
    too_big = by_key["01-HUGE"]
    assert too_big.error_class == "MessageTooLarge" and too_big.field == "record.UDF_NOTE_99"
    assert too_big.original["truncated"] is True
    assert too_big.original["size_bytes"] > DEFAULT_MAX_MESSAGE_BYTES
    assert tenant_id in too_big.error_message and "01-HUGE" in too_big.error_message
    cut = by_key["01-WORSE"]  # the validation's own letter, its original cut to fit
    assert (cut.error_class, cut.field) == ("InvalidRecord", "DateUpdated")
    assert cut.original["truncated"] is True
    for letter in (too_big, cut):
        assert len(letter.model_dump_json()) < DEFAULT_MAX_MESSAGE_BYTES // 100
    good = await read_topic(kafka_bootstrap, Topics.SAGE_CHANGES, tenant_id, 1, since=since)
    assert [e.source_key for e in good if isinstance(e, SageRecordChanged)] == ["01-SMALL"]
