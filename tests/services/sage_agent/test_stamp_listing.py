"""The agent's stamp listing: key and stamps of the rows changed since a stamp, in feed order;
not complete past the limit."""

from __future__ import annotations

from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES
from sage_agent.feed import stamp_listing
from sage_agent.scan import SEP, ScanResult

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
