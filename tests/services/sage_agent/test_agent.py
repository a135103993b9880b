"""The agent over real HTTP against the emulator's BOI stand-in (/_pvx), for every entity."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES, record_digest
from sage_agent.main import AgentSettings

from tests.services.sage_agent.servers import (
    AGENT_TOKEN,
    SAGE_PASSWORD,
    SAGE_USER,
    SageSide,
    sage_side,
)

HEADERS = {"Authorization": f"Bearer {AGENT_TOKEN}"}


@pytest.fixture(scope="module")
def side() -> Iterator[SageSide]:
    with sage_side() as running:
        with running.control() as control:
            control.post("/_emulator/companies/ABC/generate", json={"customers": 60, "seed": 5})
        yield running


def agent(side: SageSide) -> httpx.Client:
    return httpx.Client(base_url=side.agent_url, headers=HEADERS, timeout=60)


def all_changes(client: httpx.Client, path: str, limit: int = 7, **since: str) -> list[dict]:
    records, cursor = [], None
    while True:
        params = {"limit": str(limit), **since, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"/v1/companies/ABC/{path}/changes", params=params).json()
        records += body["records"]
        cursor = body["next_cursor"]
        if not cursor:
            return records


@pytest.mark.parametrize("entity", list(Entity))
def test_every_entity_pages_in_stamp_then_key_order_and_matches_the_table(
    side: SageSide, entity: Entity
) -> None:
    spec = SAGE_TABLES[entity]
    table = side.state.company("ABC").table(spec.table)
    with agent(side) as client:
        records = all_changes(client, spec.path)
    assert len(records) == len(table) > 0
    order = [(r["DateUpdated"], float(r["TimeUpdated"]), spec.source_key(r)) for r in records]
    assert order == sorted(order)
    first = records[0]
    row = table.get(*spec.key_values(spec.source_key(first)).values())
    stored = spec.withheld(row, frozenset())
    assert first == {**stored, **first}
    assert isinstance(first["DateUpdated"], str) and len(first["DateUpdated"]) == 8


def test_sales_orders_carry_their_lines(side: SageSide) -> None:
    with agent(side) as client:
        orders = all_changes(client, "sales_orders", limit=50)
    lines = side.state.company("ABC").table("SO_SalesOrderDetail")
    assert sum(len(o["Lines"]) for o in orders) == len(lines)
    assert all(line["SalesOrderNo"] == o["SalesOrderNo"] for o in orders for line in o["Lines"])


def test_fetch_by_key_and_key_set_with_hashes(side: SageSide) -> None:
    table = side.state.company("ABC").table("AR_CustomerContact")
    row = table.rows()[3]
    key = SAGE_TABLES[Entity.CUSTOMER_CONTACT].source_key(row)
    with agent(side) as client:
        fetched = client.get(f"/v1/companies/ABC/customer_contacts/records/{key}").json()
        keys = client.get("/v1/companies/ABC/customer_contacts/keys").json()["keys"]
        missing = client.get("/v1/companies/ABC/customer_contacts/records/01-NOPE:X")
    flagged = {**row, "PrimaryContact": expected_flag(side, row)}
    assert fetched == flagged
    assert {k["key"]: k["hash"] for k in keys}[key] == record_digest(flagged).hex()
    assert len(keys) == len(table)
    assert missing.status_code == 404 and "not on file" in missing.json()["message"]


def expected_flag(side: SageSide, contact: dict) -> str:
    customers = side.state.company("ABC").table("AR_Customer")
    customer = customers.get(contact["ARDivisionNo"], contact["CustomerNo"])
    return "Y" if customer and customer["ContactCode"] == contact["ContactCode"] else "N"


def test_contacts_carry_primary_flag_from_the_customers_contact_code(side: SageSide) -> None:
    table = side.state.company("ABC").table("AR_CustomerContact")
    with agent(side) as client:
        records = all_changes(client, "customer_contacts", limit=40)
        orphan = {"ARDivisionNo": "01", "CustomerNo": "NOSUCH", "ContactCode": "X"}
        with side.control() as control:
            control.post(
                "/_emulator/companies/ABC/tables/AR_CustomerContact",
                json={"records": [{**orphan, "ContactName": "Lost Soul"}]},
            )
        fetched = client.get("/v1/companies/ABC/customer_contacts/records/01-NOSUCH:X").json()
        with side.control() as control:
            control.post(
                "/_emulator/companies/ABC/tables/AR_CustomerContact/delete",
                json={"key": ["01", "NOSUCH", "X"]},
            )
    flags = {
        SAGE_TABLES[Entity.CUSTOMER_CONTACT].source_key(r): r["PrimaryContact"] for r in records
    }
    assert flags == {
        SAGE_TABLES[Entity.CUSTOMER_CONTACT].source_key(r): expected_flag(side, r)
        for r in table.rows()
    }
    assert set(flags.values()) == {"Y", "N"}  # defaults and second contacts both present
    assert fetched["PrimaryContact"] == "N"  # no customer: nobody's default


def test_inclusive_since_uses_numbers(side: SageSide) -> None:
    rows = side.state.company("ABC").table("AP_Vendor").rows()
    pivot = sorted((r["DateUpdated"], float(r["TimeUpdated"])) for r in rows)[len(rows) // 2]
    with agent(side) as client:
        got = all_changes(client, "ap_vendors", since_date=pivot[0], since_time=f"{pivot[1]:.6f}")
    expected = [r for r in rows if (r["DateUpdated"], float(r["TimeUpdated"])) >= pivot]
    assert len(got) == len(expected)


def test_token_and_unknown_entity(side: SageSide) -> None:
    with httpx.Client(base_url=side.agent_url) as client:
        assert client.get("/v1/companies/ABC/ar_customers/keys").status_code == 401
        assert client.get("/v1/health").status_code == 200
    with agent(side) as client:
        assert client.get("/v1/companies/ABC/items/keys").status_code == 404
        bad = client.get("/v1/companies/ABC/ar_customers/records/nodash")
        assert bad.status_code == 400 and "ARDivisionNo" in bad.json()["message"]


def test_bad_sage_logon_is_a_clear_403(side: SageSide) -> None:
    with agent(side) as client:
        answer = client.get(
            "/v1/companies/ABC/ar_customers/keys",
            headers={"X-Sage-User": "MLCAGENT", "X-Sage-Password": "wrong"},
        )
    assert answer.status_code == 403 and "logon" in answer.json()["message"]


def boi_status(side: SageSide) -> dict:
    with side.control() as control:
        return dict(control.get("/_emulator/boi").json())


def set_locks(side: SageSide, **body: object) -> None:
    with side.control() as control:
        assert control.post("/_emulator/boi/locks", json=body).status_code == 200


def test_named_key_lock_retries_then_423_then_recovers(side: SageSide) -> None:
    row = side.state.company("ABC").table("AR_Customer").rows()[0]
    key = f"{row['ARDivisionNo']}-{row['CustomerNo']}"
    set_locks(side, keys=[["AR_Customer", row["ARDivisionNo"], row["CustomerNo"]]])
    before = boi_status(side)["busy_answers"]
    try:
        with agent(side) as client:
            locked = client.get(f"/v1/companies/ABC/ar_customers/records/{key}")
        assert locked.status_code == 423 and "Record/file busy" in locked.json()["message"]
        assert boi_status(side)["busy_answers"] - before == 6  # MLC_AGENT_LOCK_ATTEMPTS default
    finally:
        set_locks(side)
    with agent(side) as client:
        assert client.get(f"/v1/companies/ABC/ar_customers/records/{key}").json() == row


def test_ten_percent_lock_rate_still_yields_every_record(side: SageSide) -> None:
    set_locks(side, rate=0.1, seed=11)
    before = boi_status(side)["busy_answers"]
    try:
        with agent(side) as client:
            for _ in range(25):
                records = all_changes(client, "customer_contacts", limit=500)
                assert len(records) == len(side.state.company("ABC").table("AR_CustomerContact"))
                fetched = client.get("/v1/companies/ABC/gl_accounts/records/000000010")
                assert fetched.status_code == 200
    finally:
        set_locks(side)
    assert boi_status(side)["busy_answers"] > before


def test_business_objects_are_released_after_each_request(side: SageSide) -> None:
    with agent(side) as client:
        for path in ("ar_customers", "sales_orders", "gl_account_groups"):
            client.get(f"/v1/companies/ABC/{path}/keys")
    # What stays alive is the pool: a ProvideX.Script and an SY_Session per pooled session.
    assert boi_status(side)["live_objects"] <= 2 * 4


async def test_agent_client_fetch_keys_and_per_request_logon(side: SageSide) -> None:
    from mlc_core.sage.agent import SageAgentClient
    from mlc_core.sage.errors import SageAuthError, SageNotFound
    from pydantic import SecretStr

    row = side.state.company("ABC").table("SO_SalesOrderHeader").rows()[0]
    async with httpx.AsyncClient(timeout=60) as http:
        client = SageAgentClient(http, base_url=side.agent_url, token=AGENT_TOKEN)
        order = await client.fetch(
            company="ABC", entity="sales_order", source_key=row["SalesOrderNo"]
        )
        keys = await client.keys(company="ABC", entity="sales_order")
        with pytest.raises(SageNotFound):
            await client.fetch(company="ABC", entity="sales_order", source_key="9999999")
        wrong = SageAgentClient(
            http,
            base_url=side.agent_url,
            token=AGENT_TOKEN,
            sage_logon=("MLCAGENT", SecretStr("not-the-password")),
        )
        with pytest.raises(SageAuthError):
            await wrong.keys(company="ABC", entity="gl_account")
    assert order["SalesOrderNo"] == row["SalesOrderNo"] and order["Lines"]
    assert keys[row["SalesOrderNo"]] == record_digest({**order}).hex()


def test_pool_keeps_at_most_pool_size_sessions_across_companies(side: SageSide) -> None:
    codes = [f"C{n:02d}" for n in range(7)]
    for code in codes:
        side.state.ensure_company(code)
    with agent(side) as client:
        for code in codes:
            empty = client.get(f"/v1/companies/{code}/gl_accounts/keys").json()
            assert empty == {"keys": [], "next_cursor": None}
    assert boi_status(side)["live_objects"] <= 2 * 4  # a Script and a Session per pooled session


def test_key_listing_pages_in_key_order_without_gaps_or_repeats(side: SageSide) -> None:
    spec = SAGE_TABLES[Entity.CUSTOMER_CONTACT]
    table = side.state.company("ABC").table(spec.table)
    pages, cursor = [], None
    with agent(side) as client:
        while True:
            params = {"limit": "13", **({"cursor": cursor} if cursor else {})}
            body = client.get(f"/v1/companies/ABC/{spec.path}/keys", params=params).json()
            pages.append([k["key"] for k in body["keys"]])
            cursor = body["next_cursor"]
            if not cursor:
                break
        too_many = client.get(f"/v1/companies/ABC/{spec.path}/keys", params={"limit": "5001"})
    keys = [k for p in pages for k in p]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) == len(table)
    assert all(len(p) == 13 for p in pages[:-1]) and 0 < len(pages[-1]) <= 13
    assert too_many.status_code == 400


async def test_agent_client_reads_every_key_page(
    side: SageSide, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlc_core.sage import agent as agent_client

    monkeypatch.setattr(agent_client, "KEY_PAGE", 7)
    spec = SAGE_TABLES[Entity.AR_CUSTOMER]
    table = side.state.company("ABC").table(spec.table)
    async with httpx.AsyncClient(timeout=60) as http:
        client = agent_client.SageAgentClient(http, base_url=side.agent_url, token=AGENT_TOKEN)
        keys = await client.keys(company="ABC", entity=str(Entity.AR_CUSTOMER))
    assert sorted(keys) == sorted(spec.source_key(r) for r in table.rows()) and len(keys) > 7


def test_a_token_reads_only_its_companies_and_must_not_be_empty() -> None:
    from pydantic import ValidationError

    with sage_side(companies="abc, def") as scoped, agent(scoped) as client:
        scoped.state.ensure_company("XYZ")
        assert client.get("/v1/companies/ABC/gl_accounts/keys").status_code == 200
        refused = client.get("/v1/companies/XYZ/gl_accounts/keys")
        assert refused.status_code == 403 and "XYZ" in refused.json()["message"]
        assert refused.json()["error"] == "company_not_allowed"
    for bad, field in (({"token": "  "}, "MLC_AGENT_TOKEN"), ({"companies": " , "}, "COMPANIES")):
        with pytest.raises(ValidationError, match=field):
            AgentSettings(**({"token": "t", "companies": "ABC"} | bad))  # type: ignore[arg-type]


def test_sensitive_columns_leave_only_when_included(side: SageSide) -> None:
    ssn = "TaxpayerIDSocialSecurityNo"
    spec = SAGE_TABLES[Entity.AP_VENDOR]
    row = side.state.company("ABC").table(spec.table).rows()[0]
    key = spec.source_key(row)
    with agent(side) as client:
        plain = all_changes(client, spec.path, limit=50)
        asked = all_changes(client, spec.path, limit=50, include=ssn)
        fetched = client.get(f"/v1/companies/ABC/{spec.path}/records/{key}").json()
        hashes = client.get(f"/v1/companies/ABC/{spec.path}/keys").json()["keys"]
        wrong = client.get(f"/v1/companies/ABC/{spec.path}/keys", params={"include": "VendorName"})
    assert row[ssn] and all(ssn not in r for r in plain) and ssn not in fetched
    assert all(r[ssn] for r in asked)
    without = {k: v for k, v in row.items() if k != ssn}
    assert {k["key"]: k["hash"] for k in hashes}[key] == record_digest(without).hex()
    assert wrong.status_code == 400 and "VendorName is not a sensitive column" in wrong.text


def test_emulator_sessions_share_one_connection_pool_that_outlives_each(side: SageSide) -> None:
    """Each session's RemoteBoi goes over the agent's one transport (a client of its own built
    an SSL context per logon: 20 ms of CPU); closing a session leaves the others working."""
    from sage_agent.main import boi_factory
    from sage_agent.pool import Logon, open_session

    settings = AgentSettings(
        token=AGENT_TOKEN,  # type: ignore[arg-type]
        companies="*",
        boi="emulator",
        emulator_url=side.emulator_url,
    )
    make = boi_factory(settings)
    first, second = make(), make()
    first.close()
    session = open_session(second, Logon("ABC", SAGE_USER, SAGE_PASSWORD))
    assert second.call(session, "nSetModule", "A/R") == 1
    second.release(session)
    second.close()
    assert first._http._transport is second._http._transport  # type: ignore[attr-defined]
