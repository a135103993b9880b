"""The agent's stamp listing: key and stamps of the rows changed since a stamp, in feed order;
not complete past the limit."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES
from mlc_core.sage.agent import SageAgentClient
from mlc_core.sage.errors import SageError
from sage_agent.feed import stamp_listing
from sage_agent.scan import SEP, ScanResult

from tests.services.sage_agent.servers import AGENT_TOKEN, SageSide, sage_side

SPEC = SAGE_TABLES[Entity.AR_CUSTOMER]
COLUMNS = ["ARDivisionNo$", "CustomerNo$", "DateUpdated$", "TimeUpdated$"]


def scan(*rows: tuple[str, str, str, str]) -> ScanResult:
    return ScanResult(COLUMNS, [SEP.join(row) for row in rows])


def test_rows_since_the_stamp_in_feed_order() -> None:
    rows = scan(
        ("01", "C", "20261201", "10.00000"),
        ("01", "A", "20261201", "9.00000"),  # before `since` (same day, earlier hour)
        ("01", "B", "20261201", " 9.5"),  # exactly at `since`: inclusive
    )
    listed, complete = stamp_listing(SPEC, rows, ("20261201", 9.5), limit=10)
    assert complete
    assert listed == [
        {"key": "01-B", "date": "20261201", "time": " 9.5"},
        {"key": "01-C", "date": "20261201", "time": "10.00000"},
    ]


def test_past_the_limit_it_is_not_complete() -> None:
    rows = scan(*[("01", f"K{n}", "20261201", "10.0") for n in range(3)])
    assert stamp_listing(SPEC, rows, ("20261201", 0.0), limit=2) == ([], False)
    assert len(stamp_listing(SPEC, rows, ("20261201", 0.0), limit=3)[0]) == 3


@pytest.fixture(scope="module")
def side() -> Iterator[SageSide]:
    with sage_side() as running:
        with running.control() as control:
            control.post("/_emulator/companies/ABC/generate", json={"customers": 40, "seed": 3})
        yield running


@pytest.mark.parametrize("entity", list(Entity))
async def test_every_entity_lists_what_its_change_feed_holds(
    side: SageSide, entity: Entity
) -> None:
    spec = SAGE_TABLES[entity]
    rows = side.state.company("ABC").table(spec.table).rows()
    pivot = sorted((r["DateUpdated"], float(r["TimeUpdated"])) for r in rows)[len(rows) // 2]
    async with httpx.AsyncClient(timeout=60) as http:
        client = SageAgentClient(http, base_url=side.agent_url, token=AGENT_TOKEN)
        listing = await client.stamps(company="ABC", entity=entity, since=pivot, limit=50_000)
        feed = await client.changes(company="ABC", entity=entity, since=pivot, limit=5000)
        with pytest.raises(SageError):  # limit past the listing's maximum
            await client.stamps(company="ABC", entity=entity, since=pivot, limit=50_001)
    assert listing.complete and feed.next_cursor is None
    assert [k for k, _, _ in listing.stamps] == [spec.source_key(r) for r in feed.records]
    assert [(d, t) for _, d, t in listing.stamps] == [
        (r["DateUpdated"], r["TimeUpdated"]) for r in feed.records
    ]
