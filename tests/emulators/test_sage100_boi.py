"""The emulator's other tables, generator, controls and Business Object Interface stand-in."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sage100_emulator.app import create_app
from sage100_emulator.boi import BUSY, SEP, BoiError, LockPolicy, SYSession
from sage100_emulator.boi_signatures import DISP_E_BADPARAMCOUNT, ComCallError
from sage100_emulator.clock import EmulatorClock
from sage100_emulator.com import ComServer
from sage100_emulator.state import SageState

pytestmark = pytest.mark.unit
CONTROL = "/_emulator/companies/ABC"


@pytest.fixture
def state() -> SageState:
    clock = EmulatorClock("UTC")
    clock.freeze(dt.datetime(2026, 3, 2, 14, 30, 10))
    state = SageState(clock)
    state.generate_company("ABC", 40, seed=3)
    return state


@pytest.fixture
def locks() -> LockPolicy:
    return LockPolicy(seed=1)


def session(state: SageState, locks: LockPolicy) -> tuple[Any, Any]:
    """Through the COM stand-in, so every call here is held to the documented signatures."""
    script = ComServer(state, locks=locks).dispatch("ProvideX.Script")
    assert script.Init(r"\\server\MAS90\Home") == 1
    oss = script.NewObject("SY_Session")
    assert isinstance(oss.inner, SYSession)
    assert oss.nLogon() == 0  # no Windows-auth logon: SetUser is required
    assert oss.nSetUser("MLCAGENT", "sage100") == 1
    assert oss.nSetCompany("ABC") == 1
    assert oss.nSetDate("A/R", "20260302") == 1 and oss.nSetModule("A/R") == 1
    return script, oss


def test_generator_is_seedable_and_realistic() -> None:
    one, two = SageState(), SageState()
    counts = one.generate_company("ABC", 200, seed=5)
    assert counts == two.generate_company("ABC", 200, seed=5)
    assert counts["AR_Customer"] == 200 and counts["AR_CustomerContact"] >= 200
    assert counts["SO_SalesOrderHeader"] == 50 and counts["AR_InvoiceHistoryHeader"] == 100
    strip = ("DateCreated", "TimeCreated", "DateUpdated", "TimeUpdated")
    rows = [{k: v for k, v in r.items() if k not in strip} for r in one.list_customers("ABC")]
    assert rows == [
        {k: v for k, v in r.items() if k not in strip} for r in two.list_customers("ABC")
    ]
    vendors = one.company("ABC").table("AP_Vendor").rows()
    assert all(len(str(v["VendorNo"])) == 7 and str(v["VendorNo"]).isdigit() for v in vendors)
    lines = one.company("ABC").table("SO_SalesOrderDetail").rows()
    assert all(len(str(line["LineKey"])) == 6 for line in lines)
    accounts = one.company("ABC").table("GL_Account").rows()
    assert all(len(str(a["AccountKey"])) == 9 and a["CompanyCode"] == "ABC" for a in accounts)
    _open_invoices_follow_history(one)


def _open_invoices_follow_history(state: SageState) -> None:
    """Recent invoices are still open (some paid, at 0); finance charges exist only there."""
    company = state.company("ABC")
    history = {r["InvoiceNo"]: r for r in company.table("AR_InvoiceHistoryHeader").rows()}
    open_rows = company.table("AR_OpenInvoice").rows()
    charges = [r for r in open_rows if r["InvoiceType"] == "FC"]
    assert len(charges) == 10 and not any(r["InvoiceNo"] in history for r in charges)
    followed = [r for r in open_rows if r["InvoiceType"] != "FC"]
    assert followed and all(
        (history[r["InvoiceNo"]]["CustomerNo"], history[r["InvoiceNo"]]["InvoiceDate"])
        == (r["CustomerNo"], r["InvoiceDate"])
        for r in followed
    )
    assert all(r["InvoiceDueDate"] > r["InvoiceDate"] for r in followed)
    assert any(r["Balance"] == 0 for r in followed) and any(r["Balance"] for r in followed)


def test_logon_company_and_task_rules(state: SageState, locks: LockPolicy) -> None:
    script = ComServer(state, locks=locks).dispatch("ProvideX.Script")
    oss = script.NewObject("SY_Session")
    assert isinstance(oss.inner, SYSession)
    assert oss.nSetUser("MLCAGENT", "wrong") == 0 and "invalid" in oss.sLastErrorMsg
    assert oss.nSetUser("mlcagent", "sage100") == 1
    assert oss.nSetCompany("ZZZ") == 0 and "not on file" in oss.sLastErrorMsg
    assert oss.nSetCompany("abc") == 1
    with pytest.raises(BoiError, match="nSetProgram"):
        script.NewObject("SO_SalesOrder_bus", oss)  # a _bus needs its task context
    assert oss.nLookupTask("NO_SUCH_ui") == 0 and oss.nSetProgram(0) == 0
    assert oss.nSetProgram(oss.nLookupTask("SO_SalesOrder_ui")) == 1
    assert script.NewObject("SO_SalesOrder_bus", oss) is not None
    with pytest.raises(BoiError):
        script.NewObject("XX_Nothing_svc", oss)


def test_get_value_needs_dollar_on_strings_only(state: SageState, locks: LockPolicy) -> None:
    script, oss = session(state, locks)
    cust: Any = script.NewObject("AR_Customer_svc", oss)
    row = state.list_customers("ABC")[0]
    assert cust.nFind(f"{row['ARDivisionNo']}{row['CustomerNo']}") == 1
    assert cust.nGetValue("CustomerName$", "") == (1, row["CustomerName"])
    assert cust.nGetValue("CreditLimit", 0) == (1, row["CreditLimit"])
    assert cust.nGetValue("CustomerName", "")[0] == 0 and "$" in cust.sLastErrorMsg
    assert cust.nGetValue("CreditLimit$", "")[0] == 0
    assert cust.nGetValue("NoSuchColumn$", "")[0] == 0
    with pytest.raises(ComCallError, match="byref value") as refused:
        cust.nGetValue("CustomerName$")  # the by-reference value must be passed
    assert refused.value.hresult == DISP_E_BADPARAMCOUNT


def test_get_record_returns_the_whole_record_and_its_columns(
    state: SageState, locks: LockPolicy
) -> None:
    script, oss = session(state, locks)
    cust: Any = script.NewObject("AR_Customer_svc", oss)
    assert cust.nGetRecord("", "")[0] == 0  # no current record yet
    row = state.list_customers("ABC")[0]
    assert cust.nFind(f"{row['ARDivisionNo']}{row['CustomerNo']}") == 1
    code, record, columns = cust.nGetRecord("", "")
    assert code == 1 and columns == cust.sGetColumns("MAIN")
    values = dict(zip(columns.split(SEP), record.split(SEP), strict=True))
    assert values["CustomerName$"] == row["CustomerName"]
    assert float(values["CreditLimit"]) == row["CreditLimit"]
    assert len(values) == len(columns.split(SEP)) > 30


def test_keys_find_and_set_key(state: SageState, locks: LockPolicy) -> None:
    script, oss = session(state, locks)
    contact: Any = script.NewObject("AR_CustomerContact_svc", oss)
    row = state.company("ABC").table("AR_CustomerContact").rows()[0]
    for column in ("ARDivisionNo", "CustomerNo", "ContactCode"):
        assert contact.nSetKeyValue(column + "$", row[column]) == 1
    assert contact.nSetKey() == 1 and contact.nGetValue("ContactName$", "")[1] == row["ContactName"]
    with pytest.raises(ComCallError, match="nFind"):
        contact.nFind()  # sage100.md §2 documents nFind(key) only
    assert contact.nSetKeyValue("ContactName$", "x") == 0
    assert contact.nFind("01NOSUCH") == 0 and "not on file" in contact.sLastErrorMsg
    assert oss.nSetModule("A/R") == 1 and oss.nSetProgram(oss.nLookupTask("AR_Customer_ui")) == 1
    bus: Any = script.NewObject("AR_Customer_bus", oss)
    assert bus.nSetKey("01NEWCUST") == 2  # new record on a business object
    svc: Any = script.NewObject("AR_Customer_svc", oss)
    assert svc.nSetKey("01NEWCUST") == 0  # a service object only reads


def test_browse_with_move_first_next_eof(state: SageState, locks: LockPolicy) -> None:
    script, oss = session(state, locks)
    vendor: Any = script.NewObject("AP_Vendor_svc", oss)
    seen = []
    assert vendor.nMoveFirst() == 1
    while not vendor.nEOF():
        seen.append(vendor.nGetValue("VendorNo$", "")[1])
        vendor.nMoveNext()
    assert seen == [r["VendorNo"] for r in state.company("ABC").table("AP_Vendor").rows()]


def test_result_sets_filter_and_sep(state: SageState, locks: LockPolicy) -> None:
    script, oss = session(state, locks)
    invoices: Any = script.NewObject("AR_InvoiceHistoryInquiry_svc", oss)
    ret, rows, keys = invoices.nGetResultSets(
        "InvoiceNo$,TaxableSalesAmt", "InvoiceNo$", "", "", 'DateUpdated$>="20260302"', "", ""
    )
    table = state.company("ABC").table("AR_InvoiceHistoryHeader")
    assert ret == 1 and len(rows) == len(keys) == len(table) and SEP in rows[0]
    late = 'DateUpdated$>="20990101"'
    assert invoices.nGetResultSets("InvoiceNo$", "", "", "", late, "", "") == (1, [], [])
    assert invoices.nGetResultSets("InvoiceNo$", "", "", "", "garbage(", "", "")[0] == 0
    with pytest.raises(ComCallError, match="Invalid number of parameters"):
        invoices.nGetResultSets("InvoiceNo$", "", late, "", "")  # byref results/keys left out


def test_record_locks_by_name_and_rate(state: SageState, locks: LockPolicy) -> None:
    script, oss = session(state, locks)
    cust: Any = script.NewObject("AR_Customer_svc", oss)
    row = state.list_customers("ABC")[0]
    locks.keys = {("AR_Customer", row["ARDivisionNo"], row["CustomerNo"])}
    assert cust.nFind(f"{row['ARDivisionNo']}{row['CustomerNo']}") == 0
    assert cust.sLastErrorMsg == BUSY
    other = state.list_customers("ABC")[1]
    assert cust.nFind(f"{other['ARDivisionNo']}{other['CustomerNo']}") == 1
    locks.keys, locks.rate = set(), 0.1
    busy = sum(cust.nMoveFirst() == 0 for _ in range(1000))
    assert 50 < busy < 150 and locks.busy_count >= busy + 1


@pytest.fixture
async def client(state: SageState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sage") as http:
        yield http


async def test_control_renumber_delete_and_stampless_import(
    client: httpx.AsyncClient, state: SageState
) -> None:
    vendors = state.company("ABC").table("AP_Vendor")
    first = vendors.rows()[0]
    key = [first["APDivisionNo"], first["VendorNo"]]
    state.clock.advance(60)
    moved = await client.post(
        f"{CONTROL}/tables/AP_Vendor/renumber", json={"key": key, "new_key": ["01", "0999999"]}
    )
    assert moved.status_code == 200
    assert moved.json()["record"]["DateUpdated"] == first["DateUpdated"]  # stamps untouched
    assert vendors.get(*key) is None
    deleted = await client.post(f"{CONTROL}/tables/AP_Vendor/delete", json={"key": key})
    assert deleted.status_code == 404
    second = vendors.rows()[0]
    imported = await client.post(
        f"{CONTROL}/tables/AP_Vendor",
        json={
            "records": [{"APDivisionNo": "01", "VendorNo": second["VendorNo"], "VendorName": "VI"}],
            "touch_stamps": False,
        },
    )
    row = imported.json()["records"][0]
    assert row["VendorName"] == "VI" and row["TimeUpdated"] == second["TimeUpdated"]


async def test_control_validates_like_sage(client: httpx.AsyncClient) -> None:
    long_name = await client.post(
        f"{CONTROL}/tables/AP_Vendor",
        json={"records": [{"APDivisionNo": "1", "VendorNo": "12", "VendorName": "X" * 31}]},
    )
    assert long_name.status_code == 400
    assert "VendorName" in long_name.json()["message"] and "30" in long_name.json()["message"]
    padded = await client.post(
        f"{CONTROL}/tables/AP_Vendor", json={"records": [{"APDivisionNo": "1", "VendorNo": "12"}]}
    )
    assert padded.json()["records"][0]["VendorNo"] == "0000012"
    assert padded.json()["records"][0]["APDivisionNo"] == "01"
    missing = await client.post(f"{CONTROL}/tables/GL_Account", json={"records": [{}]})
    assert missing.status_code == 400 and "AccountKey" in missing.json()["message"]
    assert (await client.get(f"{CONTROL}/tables/NOPE")).status_code == 404
    raw = await client.post(
        f"{CONTROL}/tables/AR_Customer",
        json={"records": [{"CustomerNo": "R1", "CustomerName": {"$bytes_hex": "e9"}}], "raw": True},
    )
    assert raw.status_code == 200 and raw.json()["records"][0]["CustomerName"] == "\udce9"


async def test_pvx_face_marshals_calls_and_releases(client: httpx.AsyncClient) -> None:
    script = (await client.post("/_pvx/v1/script")).json()["handle"]

    async def call(handle: int, method: str, *args: Any) -> Any:
        body = {"handle": handle, "method": method, "args": list(args)}
        return (await client.post("/_pvx/v1/call", json=body)).json()["result"]

    oss = await call(script, "NewObject", "SY_Session")
    assert await call(oss["$handle"], "nSetUser", "MLCAGENT", "sage100") == 1
    assert await call(oss["$handle"], "nSetCompany", "ABC") == 1
    gl = await call(script, "NewObject", "GL_Account_svc", oss)
    assert await call(gl["$handle"], "nMoveFirst") == 1
    assert (await call(gl["$handle"], "nGetValue", "AccountKey$", ""))[0] == 1
    short = {"handle": gl["$handle"], "method": "nGetValue", "args": ["AccountKey$"]}
    wrong = await client.post("/_pvx/v1/call", json=short)
    assert wrong.status_code == 400 and wrong.json()["hresult"] == DISP_E_BADPARAMCOUNT
    refused = await client.post(
        "/_pvx/v1/call", json={"handle": gl["$handle"], "method": "_table", "args": []}
    )
    assert refused.status_code == 400
    assert (await client.get("/_emulator/boi")).json()["live_objects"] == 3
    for handle in (gl["$handle"], oss["$handle"], script):
        await client.post("/_pvx/v1/release", json={"handle": handle})
    assert (await client.get("/_emulator/boi")).json()["live_objects"] == 0


async def test_renumbering_a_customer_moves_its_contacts_with_it(
    client: httpx.AsyncClient, state: SageState
) -> None:
    contacts = state.company("ABC").table("AR_CustomerContact")
    owner = contacts.rows()[0]
    division, number = owner["ARDivisionNo"], owner["CustomerNo"]
    before = [
        c for c in contacts.rows() if (c["ARDivisionNo"], c["CustomerNo"]) == (division, number)
    ]
    moved = await client.post(
        f"{CONTROL}/tables/AR_Customer/renumber",
        json={"key": [division, number], "new_key": [division, "MOVEDTO"]},
    )
    assert moved.status_code == 200, moved.text
    after = [c for c in contacts.rows() if c["CustomerNo"] == "MOVEDTO"]
    assert [c["ContactCode"] for c in after] == [c["ContactCode"] for c in before]
    assert [c["DateUpdated"] for c in after] == [c["DateUpdated"] for c in before]
    assert not any(c["CustomerNo"] == number for c in contacts.rows())
