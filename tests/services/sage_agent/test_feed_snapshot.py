"""The agent's change-feed snapshots: one scan serves every page of a poll (no table re-scan per
page), records changed between pages wait for the next poll, and an expired snapshot rescans
without skipping or repeating a record version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES
from sage_agent.feed import SortKey, snapshot, sort_key
from sage_agent.scan import SEP, ScanResult

from tests.services.sage_agent.servers import AGENT_TOKEN, SageSide, sage_side

SPEC = SAGE_TABLES[Entity.AR_CUSTOMER]
COLUMNS = ["ARDivisionNo$", "CustomerNo$", "CustomerName$", "DateUpdated$", "TimeUpdated$"]
Since = tuple[str, float] | None
HEADERS = {"Authorization": f"Bearer {AGENT_TOKEN}"}


def reference(scan: ScanResult, since: Since) -> tuple[list[SortKey], list[str]]:
    """The snapshot as first written: key and sort every row, then drop those before `since`."""
    names = ("DateUpdated", "TimeUpdated", *SPEC.key_columns)
    keyed = sorted(
        ((sort_key(SPEC, scan.fields(raw, names)), raw) for raw in scan.rows),
        key=lambda pair: pair[0],
    )
    if since is not None:
        keyed = [(k, r) for k, r in keyed if (k[0], k[1]) >= since]
    return [k for k, _ in keyed], [r for _, r in keyed]


row = st.tuples(
    st.sampled_from(["01", "02"]),
    st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True),
    st.sampled_from(["20261125", "20261126", "", "2026112"]),
    st.one_of(
        st.floats(0, 23.99, allow_nan=False).map(lambda h: f"{h:.5f}"),
        st.sampled_from(["", "  ", "x.y", "12"]),
    ),
)
since_strategy = st.one_of(
    st.none(),
    st.just(("20261126", 12.0)),  # equal to rows stamped "12": inclusive
    st.tuples(st.sampled_from(["20261125", "20261126", "20261127"]), st.floats(0, 24)),
)


@given(rows=st.lists(row, max_size=40), since=since_strategy)
def test_snapshot_filters_before_sorting_with_the_same_result(
    rows: list[tuple[str, str, str, str]], since: Since
) -> None:
    raw = [SEP.join([div, no + "  ", "Name", date, time]) for div, no, date, time in rows]
    scan = ScanResult(list(COLUMNS), raw)
    snap = snapshot(SPEC, scan, since)
    assert (snap.keys, snap.rows) == reference(scan, since)


def changes(client: httpx.Client, cursor: str | None = None, **params: str) -> dict[str, Any]:
    query = {"limit": "7", **params, **({"cursor": cursor} if cursor else {})}
    body: dict[str, Any] = client.get("/v1/companies/ABC/ar_customers/changes", params=query).json()
    return body


def rest(client: httpx.Client, cursor: str | None, **params: str) -> list[dict[str, Any]]:
    records = []
    while cursor:
        body = changes(client, cursor, **params)
        records += body["records"]
        cursor = body["next_cursor"]
    return records


def stamp(record: dict[str, Any]) -> tuple[str, float]:
    return record["DateUpdated"], float(record["TimeUpdated"])


def running(**agent: float) -> Iterator[SageSide]:
    with sage_side("UTC", **agent) as side:
        side.state.clock.freeze()
        with side.control() as control:
            control.post("/_emulator/companies/ABC/generate", json={"customers": 30, "seed": 3})
        yield side


@pytest.fixture
def side() -> Iterator[SageSide]:
    yield from running()


@pytest.fixture
def expiring_side() -> Iterator[SageSide]:
    yield from running(snapshot_ttl_seconds=0)  # every page finds its snapshot expired


def table_rows(side: SageSide) -> list[dict[str, Any]]:
    return list(side.state.company("ABC").table("AR_Customer").rows())


def stamp_of(row: dict[str, Any]) -> tuple[str, float]:
    return str(row["DateUpdated"]), float(row["TimeUpdated"])


def touch(side: SageSide, *keys: str) -> None:
    side.state.clock.advance(60)  # the edits get stamps newer than anything read so far
    with side.control() as control:
        control.post("/_emulator/companies/ABC/ar_customers/touch", json={"keys": list(keys)})


def test_pages_come_from_one_scan_and_changes_between_pages_wait_for_the_next_poll(
    side: SageSide,
) -> None:
    before = sorted((stamp_of(r), SPEC.source_key(r)) for r in table_rows(side))
    with httpx.Client(base_url=side.agent_url, headers=HEADERS, timeout=60) as client:
        first = changes(client)
        served, unserved = SPEC.source_key(first["records"][0]), before[-1][1]
        touch(side, served, unserved)
        poll = first["records"] + rest(client, first["next_cursor"])
        # The table as the first page's scan saw it: every record once, old stamps, in order.
        # (A scan per page would have brought `unserved` with its new stamp.)
        assert [(stamp(r), SPEC.source_key(r)) for r in poll] == before
        newest = before[-1][0]
        now = {SPEC.source_key(r): stamp_of(r) for r in table_rows(side)}
        assert now[served] > newest and now[unserved] > newest  # the edits are newer
        # The next poll, from the newest stamp read (inclusive), brings both edits.
        since = {"since_date": newest[0], "since_time": f"{newest[1]:.6f}"}
        page = changes(client, **since)
        following = page["records"] + rest(client, page["next_cursor"], **since)
    got = {SPEC.source_key(r) for r in following if stamp(r) > newest}
    assert got == {served, unserved}


def test_an_expired_snapshot_rescans_without_skipping_or_repeating_a_version(
    expiring_side: SageSide,
) -> None:
    side = expiring_side
    with httpx.Client(base_url=side.agent_url, headers=HEADERS, timeout=60) as client:
        first = changes(client)
        served = SPEC.source_key(first["records"][0])
        unserved = max((stamp_of(r), SPEC.source_key(r)) for r in table_rows(side))[1]
        touch(side, served, unserved)
        poll = first["records"] + rest(client, first["next_cursor"])
    versions = [(SPEC.source_key(r), stamp(r)) for r in poll]
    assert len(versions) == len(set(versions))  # no version twice
    # Every record's current version arrives; the one served before its edit also came once
    # with its old stamp (a new version later is a change, not a repeat).
    current = {(SPEC.source_key(r), stamp_of(r)) for r in table_rows(side)}
    assert current <= set(versions)
    assert [k for k, _ in versions].count(served) == 2
    assert [k for k, _ in versions].count(unserved) == 1
    assert [s for _, s in versions] == sorted(s for _, s in versions)
