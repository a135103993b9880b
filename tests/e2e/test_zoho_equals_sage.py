"""Zoho equals Sage, through the whole stack: a value cleared in Sage is cleared in Zoho and
`mlc reconcile` reports one Zoho kept; a field the org lacks is never dropped silently; orders
reconcile against Sales_Orders and their items against Products; an invoice carrying a Zoho
deal id links the Deal and moves it to Closed Won with its amount, and a deal id that is not
one, or that Zoho lacks, is a warning on that invoice, which is still written."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from mapper.admin import save_map
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack
from mlc_ops.reconcile import reconcile

from tests.e2e.conftest import audit_rows, eventually, hand_edit, sage_table, zoho_records
from tests.e2e.test_mapping_setup import zoho_tenant

# A code table on a mapped field: the cleared field still clears through it (a UDF clears the
# same way, tests/services/mapper/test_service.py: the Sage emulator's BOI lists no UDF columns).
CODES_MAP = "codes:\n  faxes: {X: Y}\nentities:\n  ar_customer:\n    codes: {Fax: faxes}\n"


async def put_rows(
    sage: httpx.AsyncClient, company: str, name: str, records: list[dict[str, Any]]
) -> None:
    url = f"/_emulator/companies/{company}/tables/{name}"
    response = await sage.post(url, json={"records": records})
    assert response.status_code == 200, response.text


def by(records: list[dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    return {str(r[field]): r for r in records if r.get(field)}


def customer_key(row: dict[str, Any]) -> str:
    return f"{row['ARDivisionNo']}-{row['CustomerNo']}"


@pytest.mark.timeout(900)
async def test_values_cleared_in_sage_are_cleared_in_zoho_and_reconcile_sees_what_zoho_kept(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    company = "CLR"
    await sage.post(f"/_emulator/companies/{company}/generate", json={"customers": 6, "seed": 5})
    customers = await sage_table(sage, company, "AR_Customer")
    victim = customers[0]
    key = customer_key(victim)
    filled = {
        "TelephoneNo": "(414) 555-0101",
        "FaxNo": "(414) 555-0102",
        "AddressLine2": "Suite 9",
    }
    await put_rows(sage, company, "AR_Customer", [{**victim, **filled}])
    entities = [Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT]
    await zoho_tenant(
        app_pool, keyring, services, tenant_id, "enterprise", company=company, entities=entities
    )
    await save_map(app_pool, tenant_id, CODES_MAP)
    async with httpx.AsyncClient(timeout=60) as http:
        await setup(app_pool, keyring, tenant_id, http=http)
    contacts = [
        c for c in await sage_table(sage, company, "AR_CustomerContact") if c["EmailAddress"]
    ]
    contact = contacts[0]
    contact_key = f"{customer_key(contact)}:{contact['ContactCode']}"

    def loaded(found: dict[str, dict[str, Any]]) -> bool:
        account = found.get(key) or {}
        return account.get("Fax") == filled["FaxNo"] and "Suite 9" in (
            account.get("Billing_Street") or ""
        )

    await eventually(
        lambda: accounts(zoho, tenant_id),
        loaded,
        what="the filled customer in Zoho",
        stack=services,
        within=200,
    )
    await eventually(
        lambda: contacts_in_zoho(zoho, tenant_id),
        lambda found: bool((found.get(contact_key) or {}).get("Email")),
        what="the contact with its e-mail in Zoho",
        stack=services,
        within=200,
    )
    cleared = dict.fromkeys(["TelephoneNo", "FaxNo", "AddressLine2"], "")
    await put_rows(sage, company, "AR_Customer", [{**victim, **filled, **cleared}])
    await put_rows(sage, company, "AR_CustomerContact", [{**contact, "EmailAddress": ""}])

    def emptied(found: dict[str, dict[str, Any]]) -> bool:
        account = found.get(key) or {}
        return all(not account.get(f) for f in ("Phone", "Fax")) and bool(
            account.get("Account_Name")
        )

    account = (
        await eventually(
            lambda: accounts(zoho, tenant_id), emptied, what="cleared values", stack=services
        )
    )[key]
    assert "Suite 9" not in (account.get("Billing_Street") or "")
    await eventually(
        lambda: contacts_in_zoho(zoho, tenant_id),
        lambda found: not (found.get(contact_key) or {}).get("Email"),
        what="the contact's cleared e-mail",
        stack=services,
    )
    # Zoho equals Sage now; then Zoho gets a value by hand where Sage is empty.
    async with httpx.AsyncClient(timeout=60) as http:
        [equal, _] = await reconcile(
            pool=app_pool, keyring=keyring, http=http, tenant_id=tenant_id, entities=entities
        )
        assert equal.counts()["different"] == 0, [f for f in equal.findings if f.fields]
        await hand_edit(app_pool, keyring, zoho, tenant_id, {"Sage_Customer_No": key, "Fax": "1"})
        [report] = await reconcile(
            pool=app_pool,
            keyring=keyring,
            http=http,
            tenant_id=tenant_id,
            entities=[Entity.AR_CUSTOMER],
        )
    [finding] = [f for f in report.findings if f.status == "different"]
    assert (finding.key, finding.fields, finding.cleared) == (key, ("Fax",), ("Fax",))
    assert "Fax(Sage empty)" in finding.as_row()


async def accounts(zoho: httpx.AsyncClient, org: str) -> dict[str, dict[str, Any]]:
    return by(await zoho_records(zoho, org, "Accounts"), "Sage_Customer_No")


async def contacts_in_zoho(zoho: httpx.AsyncClient, org: str) -> dict[str, dict[str, Any]]:
    return by(await zoho_records(zoho, org, "Contacts"), "Sage_Contact_Key")


async def outcomes(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    return [
        r["payload"] for r in await audit_rows(pool, tenant_id, event_type="zoho.write.outcome")
    ]


@pytest.mark.timeout(900)
async def test_a_tenant_without_zoho_setup_gets_an_outcome_naming_each_missing_field(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    """No `mlc zoho setup`: Zoho would drop every Sage_* value, so no Account is written
    with them missing; each record's outcome names the fields and the fix, and once setup
    has run the waiting records are written whole."""
    company = "NST"
    await sage.post(f"/_emulator/companies/{company}/seed", json={"count": 3, "seed": 8})
    await zoho_tenant(
        app_pool,
        keyring,
        services,
        tenant_id,
        "enterprise",
        company=company,
        entities=[Entity.AR_CUSTOMER],
    )
    waiting = await eventually(
        lambda: outcomes(app_pool, tenant_id),
        lambda found: len({o["external_value"] for o in found if o["status"] == "deferred"}) == 3,
        what="a deferred outcome per customer",
        stack=services,
        within=200,
    )
    message = next(o["error_message"] for o in waiting if o["status"] == "deferred")
    for part in ("Sage_Salesperson", "Sage_Credit_Limit", f"mlc zoho setup {tenant_id}"):
        assert part in message
    assert await zoho_records(zoho, tenant_id, "Accounts") == []  # nothing half-written
    async with httpx.AsyncClient(timeout=60) as http:
        await setup(app_pool, keyring, tenant_id, http=http)
    written = await eventually(
        lambda: accounts(zoho, tenant_id),
        lambda found: len(found) == 3,
        what="the accounts once setup ran",
        stack=services,
        within=200,
    )
    assert all("Sage_Credit_Limit" in record for record in written.values())


@pytest.mark.timeout(900)
async def test_orders_reconcile_equal_and_an_invoiced_deal_moves_to_closed_won(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    company = "DLS"
    await sage.post(f"/_emulator/companies/{company}/generate", json={"customers": 12, "seed": 9})
    orders = await sage_table(sage, company, "SO_SalesOrderHeader")
    history = await sage_table(sage, company, "AR_InvoiceHistoryHeader")
    assert orders and len(history) >= 3
    entities = [Entity.AR_CUSTOMER, Entity.SALES_ORDER, Entity.AR_INVOICE]
    await zoho_tenant(
        app_pool, keyring, services, tenant_id, "enterprise", company=company, entities=entities
    )
    async with httpx.AsyncClient(timeout=60) as http:
        await setup(app_pool, keyring, tenant_id, http=http)
    await eventually(
        lambda: zoho_records(zoho, tenant_id, "Invoices"),
        lambda found: len(found) == len(history),
        what="every invoice in Zoho",
        stack=services,
        within=200,
    )
    await eventually(
        lambda: zoho_records(zoho, tenant_id, "Sales_Orders"),
        lambda found: len(found) == len(orders),
        what="every order in Zoho",
        stack=services,
        within=200,
    )
    async with httpx.AsyncClient(timeout=60) as http:
        reports = await reconcile(
            pool=app_pool,
            keyring=keyring,
            http=http,
            tenant_id=tenant_id,
            entities=[Entity.SALES_ORDER],
        )
    counts = {r.entity: r.counts() for r in reports}
    assert set(counts) == {"sales_order", "sales_order:Products"}
    for entity, found in counts.items():
        assert found["equal"] > 0 and found["equal"] == sum(found.values()), (entity, found)

    deal_id = await hand_edit(
        app_pool,
        keyring,
        zoho,
        tenant_id,
        {"Deal_Name": "Big order", "Stage": "Negotiation/Review", "Amount": 1.0},
        module="Deals",
        match="Deal_Name",
    )
    good, not_digits, unknown = history[:3]
    await put_rows(
        sage,
        company,
        "AR_InvoiceHistoryHeader",
        [
            {**good, "CRMOpportunityID": deal_id},
            {**not_digits, "CRMOpportunityID": "OPP-7"},
            {**unknown, "CRMOpportunityID": "4242424242"},
        ],
    )
    deals = await eventually(
        lambda: zoho_records(zoho, tenant_id, "Deals"),
        lambda found: any(d.get("Stage") == "Closed Won" for d in found),
        what="the deal moved to Closed Won",
        stack=services,
    )
    [deal] = deals

    def warned(found: list[dict[str, Any]]) -> bool:
        text = " ".join(w for o in found for w in o.get("warnings") or [])
        return "OPP-7" in text and "4242424242" in text

    found = await eventually(
        lambda: outcomes(app_pool, tenant_id), warned, what="both warnings", stack=services
    )
    invoices = by(await zoho_records(zoho, tenant_id, "Invoices"), "Sage_Invoice_No")
    invoice = invoices[f"{good['InvoiceNo']}:{good['HeaderSeqNo']}"]
    assert deal["Amount"] == invoice["Grand_Total"]
    assert (invoice.get("Deal_Name") or {}).get("id") == deal_id
    for row in (not_digits, unknown):
        invoice_key = f"{row['InvoiceNo']}:{row['HeaderSeqNo']}"
        mine = [o for o in found if o["source_key"] == invoice_key]
        # written, or skipped as Zoho already has it (the invoice without a deal): never failed
        assert "failed" not in {o["status"] for o in mine}, mine
        assert not (invoices.get(invoice_key) or {}).get("Deal_Name")
    letters = await audit_rows(app_pool, tenant_id, event_type="mlc.dead_letter")
    assert letters == []
