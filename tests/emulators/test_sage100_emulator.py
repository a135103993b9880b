"""Sage 100 emulator: agent API change feed, formats, auth, control API."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sage100_emulator.app import create_app
from sage100_emulator.clock import EmulatorClock, format_hours
from sage100_emulator.main import build_state, parse_args
from sage100_emulator.state import SageState

pytestmark = pytest.mark.unit

TOKEN = "test-agent-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FEED = "/v1/companies/ABC/ar_customers/changes"
CONTROL = "/_emulator/companies/ABC"


@pytest.fixture
def state() -> SageState:
    clock = EmulatorClock("UTC")
    clock.freeze(dt.datetime(2026, 3, 2, 14, 30, 10))
    return SageState(clock)


@pytest.fixture
async def client(state: SageState) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(state, agent_token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sage") as http:
        yield http


async def upsert(
    client: httpx.AsyncClient, *records: dict[str, Any], touch_stamps: bool = True
) -> list[dict[str, Any]]:
    body = {"records": list(records), "touch_stamps": touch_stamps}
    response = await client.post(f"{CONTROL}/ar_customers", json=body)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["records"]
    return rows


async def feed(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(FEED, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def keys(records: list[dict[str, Any]]) -> list[str]:
    return [f"{r['ARDivisionNo']}-{r['CustomerNo']}" for r in records]


# -- formats ---------------------------------------------------------------------


def test_decimal_hours_format() -> None:
    assert format_hours(dt.datetime(2026, 1, 1, 14, 30, 10)) == "14.50278"
    assert format_hours(dt.datetime(2026, 1, 1, 9, 15)) == "9.25000"
    assert format_hours(dt.datetime(2026, 1, 1, 23, 59, 59, 999999)) == "23.99999"


def test_stamps_are_server_local_time() -> None:
    clock = EmulatorClock("America/Chicago")
    clock.freeze(dt.datetime(2026, 7, 1, 19, 30, tzinfo=dt.UTC))  # 14:30 CDT
    state = SageState(clock)
    rows = state.upsert_customers("ABC", [{"CustomerNo": "1", "CustomerName": "X"}])
    assert (rows[0]["DateUpdated"], rows[0]["TimeUpdated"]) == ("20260701", "14.50000")
    assert rows[0]["DateCreated"] == "20260701"
    assert rows[0]["UserUpdatedKey"] == "0000000001"


async def test_zero_padding_and_column_types(client: httpx.AsyncClient) -> None:
    rows = await upsert(
        client,
        {"ARDivisionNo": "1", "CustomerNo": "12", "CustomerName": "Acme", "CreditLimit": "2500"},
        {"CustomerNo": "12345678", "CustomerName": "Long number"},
        {"ARDivisionNo": "02", "CustomerNo": "ABF", "CustomerName": "American Business Futures"},
        {"ARDivisionNo": "02", "CustomerNo": "bad key", "CustomerName": "Kept as entered"},
    )
    assert keys(rows) == ["01-0000012", "01-12345678", "02-ABF", "02-bad key"]
    row = rows[0]
    assert row["CreditLimit"] == 2500.0 and isinstance(row["CurrentBalance"], float)
    assert row["CreditHold"] == "N" and row["CustomerStatus"] == "A" and row["TermsCode"] == "00"
    assert row["SalespersonDivisionNo"] == "01"
    assert all(isinstance(row[c], str) for c in ("DateUpdated", "TimeUpdated", "ZipCode"))
    response = await client.get("/v1/companies/abc/ar_customers/1/12", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["CustomerNo"] == "0000012"


async def test_invalid_values_are_refused(client: httpx.AsyncClient) -> None:
    await upsert(client, {"CustomerNo": "1"})
    too_long = {"CustomerNo": "3", "State": "Illinois"}
    batch = {"records": [{"CustomerNo": "2"}, too_long]}
    response = await client.post(f"{CONTROL}/ar_customers", json=batch)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_record"
    assert "records[1]" in response.json()["message"]
    unknown = {"CustomerNo": "4", "DateLastUpdated": "20260101"}
    response = await client.post(f"{CONTROL}/ar_customers", json={"records": [unknown]})
    assert response.status_code == 400
    rows = (await client.get(f"{CONTROL}/ar_customers")).json()["records"]
    assert keys(rows) == ["01-0000001"]  # a refused batch writes nothing


# -- change feed --------------------------------------------------------------------


async def test_change_feed_is_inclusive(client: httpx.AsyncClient, state: SageState) -> None:
    await upsert(client, {"CustomerNo": "1", "CustomerName": "First"})
    state.clock.advance(60)
    second = (await upsert(client, {"CustomerNo": "2", "CustomerName": "Second"}))[0]
    body = await feed(client, since_date=second["DateUpdated"], since_time=second["TimeUpdated"])
    assert keys(body["records"]) == ["01-0000002"]
    assert body["next_cursor"] is None
    everything = await feed(client)
    assert keys(everything["records"]) == ["01-0000001", "01-0000002"]
    later = float(second["TimeUpdated"]) + 0.00001
    assert (await feed(client, since_date=second["DateUpdated"], since_time=later))["records"] == []


async def test_change_feed_compares_times_as_numbers(
    client: httpx.AsyncClient, state: SageState
) -> None:
    state.clock.set(dt.datetime(2026, 3, 2, 9, 15))
    await upsert(client, {"CustomerNo": "1", "CustomerName": "Morning"})
    state.clock.set(dt.datetime(2026, 3, 2, 10, 30))
    await upsert(client, {"CustomerNo": "2", "CustomerName": "Later"})
    body = await feed(client, since_date="20260302", since_time="10")
    # As text "9.25000" >= "10" would wrongly match.
    assert keys(body["records"]) == ["01-0000002"]
    assert [r["TimeUpdated"] for r in (await feed(client))["records"]] == ["9.25000", "10.50000"]


async def test_paging_through_records_sharing_one_stamp(
    client: httpx.AsyncClient, state: SageState
) -> None:
    await client.post(f"{CONTROL}/seed", json={"count": 7, "seed": 1})
    stamp = state.clock.stamp()
    params = {"since_date": stamp.date, "since_time": stamp.time, "limit": 3}
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        body = await feed(client, **params, **({"cursor": cursor} if cursor else {}))
        pages.append(keys(body["records"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [k for page in pages for k in page]
    assert flat == sorted(flat) and len(set(flat)) == 7
    assert all(r["TimeUpdated"] == stamp.time for r in (await feed(client))["records"])


async def test_exact_page_has_no_cursor_and_changes_move_to_later_pages(
    client: httpx.AsyncClient, state: SageState
) -> None:
    await client.post(f"{CONTROL}/seed", json={"count": 4, "seed": 3})
    assert (await feed(client, limit=4))["next_cursor"] is None
    first = await feed(client, limit=2)
    assert first["next_cursor"] is not None
    state.clock.advance(5)
    touched = await client.post(f"{CONTROL}/ar_customers/touch", json={"keys": ["01-0000001"]})
    assert touched.status_code == 200
    rest = await feed(client, limit=10, cursor=first["next_cursor"])
    assert keys(first["records"]) == ["01-0000001", "01-0000002"]
    assert keys(rest["records"])[-1] == "01-0000001"  # re-stamped later, so seen again


async def test_bulk_import_does_not_touch_stamps(
    client: httpx.AsyncClient, state: SageState
) -> None:
    original = (await upsert(client, {"CustomerNo": "5", "CustomerName": "Before"}))[0]
    state.clock.advance(3600)
    imported = await upsert(
        client,
        {"CustomerNo": "5", "CustomerName": "After VI import"},
        {"CustomerNo": "6", "CustomerName": "New by import"},
        touch_stamps=False,
    )
    assert imported[0]["CustomerName"] == "After VI import"
    assert imported[0]["DateUpdated"] == original["DateUpdated"]
    assert imported[0]["TimeUpdated"] == original["TimeUpdated"]
    assert imported[1]["DateUpdated"] == "" and imported[1]["TimeUpdated"] == ""
    now = state.clock.stamp()
    assert (await feed(client, since_date=now.date, since_time=now.time))["records"] == []
    assert "01-0000006" in keys((await feed(client))["records"])


async def test_normal_write_restamps_only_on_change(
    client: httpx.AsyncClient, state: SageState
) -> None:
    first = (await upsert(client, {"CustomerNo": "7", "CustomerName": "Same"}))[0]
    state.clock.advance(120)
    same = (await upsert(client, {"CustomerNo": "7", "CustomerName": "Same"}))[0]
    assert same["TimeUpdated"] == first["TimeUpdated"]
    changed = (await upsert(client, {"CustomerNo": "7", "TelephoneNo": "(312) 555-0100"}))[0]
    assert float(changed["TimeUpdated"]) > float(first["TimeUpdated"])
    assert changed["TimeCreated"] == first["TimeCreated"]
    assert changed["CustomerName"] == "Same"  # partial rows merge


async def test_bad_feed_parameters(client: httpx.AsyncClient) -> None:
    await upsert(client, {"CustomerNo": "1"})
    for params in (
        {"limit": "5001"},
        {"since_date": "2026-03-02"},
        {"since_time": "3.5"},
        {"cursor": "not-a-cursor"},
    ):
        response = await client.get(FEED, params=params, headers=AUTH)
        assert response.status_code == 400, params


# -- auth and lookups --------------------------------------------------------------


async def test_agent_api_needs_the_token(client: httpx.AsyncClient) -> None:
    await upsert(client, {"CustomerNo": "1"})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await client.get(FEED, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
    assert (await client.get("/v1/health")).json() == {"status": "ok"}


async def test_unknown_company_and_record(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/companies/XYZ/ar_customers/changes", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"] == "company_not_found"
    await upsert(client, {"CustomerNo": "1"})
    response = await client.get("/v1/companies/ABC/ar_customers/01/0000099", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_delete_removes_the_record(client: httpx.AsyncClient) -> None:
    await upsert(client, {"CustomerNo": "1"}, {"CustomerNo": "2"})
    response = await client.delete(f"{CONTROL}/ar_customers/01/0000001")
    assert response.json() == {"deleted": "01-0000001"}
    assert keys((await feed(client))["records"]) == ["01-0000002"]
    assert (await client.delete(f"{CONTROL}/ar_customers/01/0000001")).status_code == 404


# -- generator ---------------------------------------------------------------------


async def test_seed_is_deterministic_and_realistic(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{CONTROL}/seed", json={"count": 60, "seed": 42})
    assert response.json() == {"created": 60}
    rows = (await client.get(f"{CONTROL}/ar_customers")).json()["records"]
    again = SageState(EmulatorClock()).seed_customers("ABC", 60, 42)
    strip = ("DateCreated", "TimeCreated", "DateUpdated", "TimeUpdated", "DateEstablished")

    def content(r: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in r.items() if k not in strip}

    assert [content(r) for r in rows] == sorted(
        (content(r) for r in again), key=lambda r: r["CustomerNo"]
    )
    assert len({r["CustomerNo"] for r in rows}) == 60
    assert all(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", r["TelephoneNo"]) for r in rows)
    assert all(len(r["State"]) == 2 and r["CountryCode"] == "USA" for r in rows)
    assert any(r["CustomerNo"].isdigit() for r in rows)
    assert any(not r["CustomerNo"].isdigit() for r in rows)
    assert all(len(r["CustomerName"]) <= 50 and r["SalespersonNo"] for r in rows)


async def test_seeding_twice_does_not_collide(client: httpx.AsyncClient) -> None:
    await client.post(f"{CONTROL}/seed", json={"count": 20, "seed": 5})
    await client.post(f"{CONTROL}/seed", json={"count": 20, "seed": 5})
    assert len((await client.get(f"{CONTROL}/ar_customers")).json()["records"]) == 40


async def test_touch_changes_and_restamps(client: httpx.AsyncClient, state: SageState) -> None:
    await client.post(f"{CONTROL}/seed", json={"count": 10, "seed": 9})
    before = {
        r["CustomerNo"]: r for r in (await client.get(f"{CONTROL}/ar_customers")).json()["records"]
    }
    state.clock.advance(90)
    response = await client.post(f"{CONTROL}/ar_customers/touch", json={"random": 4, "seed": 7})
    changed = response.json()["records"]
    assert len(changed) == 4
    for row in changed:
        old = before[row["CustomerNo"]]
        assert {k for k in row if row[k] != old[k]} - {"TimeUpdated", "DateUpdated"}
        assert float(row["TimeUpdated"]) > float(old["TimeUpdated"])
    missing = await client.post(f"{CONTROL}/ar_customers/touch", json={"keys": ["01-7777777"]})
    assert missing.status_code == 404


def test_main_builds_seeded_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_SAGE_EMULATOR_PORT", raising=False)
    args = parse_args(["--company", "XYZ", "--seed-count", "25", "--tz", "America/New_York"])
    state = build_state(args)
    assert len(state.list_customers("XYZ")) == 25
    assert state.clock.tz_name == "America/New_York"
    assert args.port == 18100 and args.host == "127.0.0.1"
