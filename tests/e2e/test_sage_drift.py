"""No silent drift on the Sage side, through the whole stack (emulators, agent, four services):
a renumbered customer keeps its Zoho Account, an edit stamped an hour early (Sage's clock moved
back) still arrives, old invoice history stays out of Zoho while open invoices go, and the
vendor tax id stays on the Sage server unless the tenant's map asks for it."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack

from tests.e2e.conftest import (
    eventually,
    hand_edit,
    key_of,
    sage_table,
    zoho_accounts,
    zoho_records,
)
from tests.e2e.test_mapping_setup import zoho_tenant

SSN = "TaxpayerIDSocialSecurityNo"


async def connected(
    services: DevStack,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant: str,
    company: str,
    entities: list[Entity],
) -> None:
    await zoho_tenant(
        pool, keyring, services, tenant, "enterprise", company=company, entities=entities
    )
    async with httpx.AsyncClient(timeout=60) as http:
        await setup(pool, keyring, tenant, http=http)


async def test_a_renumbered_customer_keeps_its_account_and_contacts(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    company = "RNB"
    await sage.post(f"/_emulator/companies/{company}/generate", json={"customers": 12, "seed": 4})
    customers = await sage_table(sage, company, "AR_Customer")
    contacts = await sage_table(sage, company, "AR_CustomerContact")
    await connected(
        services,
        app_pool,
        keyring,
        tenant_id,
        company,
        [Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT],
    )
    await eventually(
        lambda: zoho_records(zoho, tenant_id, "Contacts"),
        lambda found: len(found) == len(contacts),
        what="the initial load's contacts in Zoho",
        stack=services,
    )
    accounts = {a["Sage_Customer_No"]: a for a in await zoho_accounts(zoho, tenant_id)}
    assert len(accounts) == len(customers)
    customer = next(
        c for c in customers if any(k["CustomerNo"] == c["CustomerNo"] for k in contacts)
    )
    old, new = key_of(customer), f"{customer['ARDivisionNo']}-RENUMBERED"
    account_id = accounts[old]["id"]
    before = {
        c["Sage_Contact_Key"]: c["id"]
        for c in await zoho_records(zoho, tenant_id, "Contacts")
        if c["Sage_Contact_Key"].startswith(old + ":")
    }
    # Sales' opportunity on the Account (a person made it in Zoho): it must stay attached.
    deal_id = await hand_edit(
        app_pool,
        keyring,
        zoho,
        tenant_id,
        {
            "Deal_Name": f"Renewal {old}",
            "Stage": "Qualification",
            "Account_Name": {"id": account_id},
        },
        module="Deals",
        match="Deal_Name",
    )
    moved = await sage.post(
        f"/_emulator/companies/{company}/tables/AR_Customer/renumber",
        json={
            "key": [customer["ARDivisionNo"], customer["CustomerNo"]],
            "new_key": [customer["ARDivisionNo"], "RENUMBERED"],
        },
    )
    assert moved.status_code == 200, moved.text

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await zoho_accounts(zoho, tenant_id), await zoho_records(zoho, tenant_id, "Contacts")

    def moved_and_linked(found: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> bool:
        accounts_now, contacts_now = found
        keys = {a["Sage_Customer_No"] for a in accounts_now}
        linked = {
            c["Sage_Contact_Key"]
            for c in contacts_now
            if (c.get("Account_Name") or {}).get("id") == account_id
        }
        return new in keys and all(k.replace(old, new, 1) in linked for k in before)

    accounts_after, after = await eventually(
        both, moved_and_linked, what=f"{old} and its contacts under {new}", stack=services
    )
    renamed = {c["Sage_Contact_Key"]: c for c in after}
    by_key = {a["Sage_Customer_No"]: a for a in accounts_after}
    assert len(accounts_after) == len(customers)  # no duplicate Account
    assert old not in by_key and by_key[new]["id"] == account_id  # the same Account, moved
    assert by_key[new]["Account_Number"] == new
    assert by_key[new].get("Sage_Status") != "Deleted in Sage"
    assert len(after) == len(contacts)  # no duplicate Contacts
    for old_key, contact_id in before.items():
        contact = renamed[old_key.replace(old, new, 1)]
        assert contact["id"] == contact_id  # the same Contact, still on the same Account
        assert contact["Account_Name"]["id"] == account_id
    [deal] = [d for d in await zoho_records(zoho, tenant_id, "Deals") if d["id"] == deal_id]
    assert deal["Account_Name"]["id"] == account_id  # the deal is still on the same Account

    async def trail() -> list[tuple[str, dict[str, Any]]]:
        rows = await app_pool.fetch(
            "SELECT event_type, payload FROM audit_events WHERE tenant_id = $1 AND entity = $2"
            " AND source_key = $3 ORDER BY recorded_at",
            tenant_id,
            "ar_customer",
            new,
        )
        return [(r["event_type"], _json(r["payload"])) for r in rows]

    def written(payloads: list[tuple[str, dict[str, Any]]]) -> bool:
        return any(
            t == "zoho.write.outcome" and p["zoho_id"] == account_id and p["status"] == "succeeded"
            for t, p in payloads
        )

    # The audit log follows Zoho by a moment: wait for the outcome to be stored.
    payloads = await eventually(trail, written, what=f"{new}'s written outcome", stack=services)
    assert any(t == "sage.record.changed" and p["renumbered_from"] == old for t, p in payloads)


def _json(payload: Any) -> dict[str, Any]:
    return payload if isinstance(payload, dict) else dict(json.loads(payload))


async def test_an_edit_after_sage_s_clock_went_back_an_hour_reaches_zoho(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    company = "CLK"
    await sage.post(f"/_emulator/companies/{company}/generate", json={"customers": 8, "seed": 6})
    customers = await sage_table(sage, company, "AR_Customer")
    await connected(services, app_pool, keyring, tenant_id, company, [Entity.AR_CUSTOMER])
    await eventually(
        lambda: zoho_accounts(zoho, tenant_id),
        lambda found: len(found) == len(customers),
        what="the initial load in Zoho",
        stack=services,
    )
    customer = customers[0]
    key = key_of(customer)
    assert (await sage.post("/_emulator/clock", json={"advance_seconds": -3600})).is_success
    try:
        edit = {c: customer[c] for c in ("ARDivisionNo", "CustomerNo")}
        written = await sage.post(
            f"/_emulator/companies/{company}/tables/AR_Customer",
            json={"records": [edit | {"CustomerName": "Stamped An Hour Early Inc"}]},
        )
        assert written.status_code == 200, written.text
        stamp = written.json()["records"][0]
        assert (stamp["DateUpdated"], float(stamp["TimeUpdated"])) < (
            customer["DateUpdated"],
            float(customer["TimeUpdated"]),
        )  # the edit looks older than the record's last version
        # The stack reconciles every 10 s: one cycle, plus the way through the services.
        accounts = await eventually(
            lambda: zoho_accounts(zoho, tenant_id),
            lambda found: any(a["Account_Name"] == "Stamped An Hour Early Inc" for a in found),
            what="the edit stamped an hour early in Zoho",
            stack=services,
            within=60,
        )
    finally:
        await sage.post("/_emulator/clock", json={"advance_seconds": 3600})
    assert [a["Sage_Customer_No"] for a in accounts if a["Account_Name"].startswith("Stamped")] == [
        key
    ]


async def test_invoice_history_older_than_the_window_stays_out_while_open_invoices_go(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    company = "IWN"
    await sage.post(f"/_emulator/companies/{company}/generate", json={"customers": 10, "seed": 8})
    customer = (await sage_table(sage, company, "AR_Customer"))[0]
    owner = {c: customer[c] for c in ("ARDivisionNo", "CustomerNo")}
    old = {"InvoiceDate": "20230105", "TaxableSalesAmt": 120.0, "HeaderSeqNo": "000000"}
    planted = {
        "AR_InvoiceHistoryHeader": [
            owner | old | {"InvoiceNo": "0900001", "InvoiceType": "IN"},  # old, paid
            owner | old | {"InvoiceNo": "0900002", "InvoiceType": "IN"},  # old, still open
        ],
        "AR_OpenInvoice": [
            owner
            | {"InvoiceNo": "0900002", "InvoiceType": "IN", "InvoiceDate": "20230105"}
            | {"InvoiceDueDate": "20230204", "TaxableAmt": 120.0, "Balance": 120.0}
        ],
    }
    for name, records in planted.items():
        written = await sage.post(
            f"/_emulator/companies/{company}/tables/{name}", json={"records": records}
        )
        assert written.status_code == 200, written.text
    history = await sage_table(sage, company, "AR_InvoiceHistoryHeader")
    opened = await sage_table(sage, company, "AR_OpenInvoice")
    entities = [Entity.AR_CUSTOMER, Entity.AR_OPEN_INVOICE, Entity.AR_INVOICE]
    await connected(services, app_pool, keyring, tenant_id, company, entities)
    recent = {f"{r['InvoiceNo']}:{r['HeaderSeqNo']}" for r in history} - {"0900001:000000"}
    recent -= {"0900002:000000"}
    old_open = f"{owner['ARDivisionNo']}-{owner['CustomerNo']}:0900002:IN"
    open_keys = {
        f"{r['ARDivisionNo']}-{r['CustomerNo']}:{r['InvoiceNo']}:{r['InvoiceType']}" for r in opened
    }

    def arrived(found: list[dict[str, Any]]) -> bool:
        numbers = {r.get("Sage_Invoice_No") for r in found}
        keys = {r.get("Sage_Open_Invoice_Key") for r in found}
        return recent <= numbers and old_open in keys and open_keys <= keys

    await eventually(
        lambda: zoho_records(zoho, tenant_id, "Invoices"),
        arrived,
        what="the window's invoices and every open one in Zoho",
        stack=services,
    )
    raw = await app_pool.fetch(
        "SELECT source_key FROM audit_events WHERE tenant_id = $1 AND entity = 'ar_invoice'"
        " AND event_type = 'sage.record.changed'",
        tenant_id,
    )
    sent = {r["source_key"] for r in raw}
    # The old paid invoice never left the poller; the old one still open is in Zoho through
    # AR_OpenInvoice, and its history header (no balance in history) stays out too.
    assert "0900001:000000" not in sent and "0900002:000000" not in sent
    assert recent <= sent
    invoices = await zoho_records(zoho, tenant_id, "Invoices")
    assert not any(r.get("Sage_Invoice_No") == "0900001:000000" for r in invoices)


async def test_the_vendor_tax_id_reaches_the_audit_log_only_when_the_map_asks(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
) -> None:
    company = "PII"
    await sage.post(f"/_emulator/companies/{company}/generate", json={"customers": 20, "seed": 2})
    vendors = await sage_table(sage, company, "AP_Vendor")
    assert vendors and all(v[SSN] for v in vendors)
    await connected(services, app_pool, keyring, tenant_id, company, [Entity.AP_VENDOR])

    async def vendor_payloads() -> list[dict[str, Any]]:
        rows = await app_pool.fetch(
            "SELECT payload FROM audit_events WHERE tenant_id = $1 AND entity = 'ap_vendor'"
            " AND event_type = 'sage.record.changed'",
            tenant_id,
        )
        return [_json(r["payload"]) for r in rows]

    first = await eventually(
        vendor_payloads,
        lambda found: len(found) == len(vendors),
        what="every vendor in the audit log",
        stack=services,
    )
    assert all(SSN not in p["record"] for p in first)
    await app_pool.execute(
        "INSERT INTO tenant_mappings (tenant_id, source_yaml, spec) VALUES ($1, $2, $3)"
        " ON CONFLICT (tenant_id) DO UPDATE SET spec = EXCLUDED.spec,"
        " source_yaml = EXCLUDED.source_yaml, revision = tenant_mappings.revision + 1",
        tenant_id,
        f"entities: {{ap_vendor: {{fields: {{Tax_ID: {{column: {SSN}}}}}}}}}",
        {"entities": {"ap_vendor": {"fields": {"Tax_ID": {"column": SSN}}}}},
    )
    # The next reconciliation (every 10 s here) sees every vendor's hash change and re-reads.
    asked = await eventually(
        vendor_payloads,
        lambda found: sum(1 for p in found if SSN in p["record"]) == len(vendors),
        what="every vendor again, with the tax id the map asks for",
        stack=services,
    )
    by_key = {f"{v['APDivisionNo']}-{v['VendorNo']}": v[SSN] for v in vendors}
    assert all(p["record"][SSN] == by_key[p["source_key"]] for p in asked if SSN in p["record"])
