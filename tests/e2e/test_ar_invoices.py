"""AR invoices, open and history, become one Zoho invoice each, through the whole stack.

An invoice of the last 60 days is in both AR_InvoiceHistoryHeader and AR_OpenInvoice; a
finance charge only in AR_OpenInvoice. Zoho must hold exactly one record per Sage invoice,
whichever table's event arrives first, with the open invoice's balance and due date on it.
Paying and purging an open invoice (a delete found by reconciliation) closes the Zoho invoice.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack

from tests.e2e.conftest import eventually, sage_table, zoho_records
from tests.e2e.test_mapping_setup import zoho_tenant

COMPANY = "INV"
FIRST = [Entity.AR_CUSTOMER, Entity.AR_OPEN_INVOICE]


async def zoho_invoices(zoho: httpx.AsyncClient, org: str) -> list[dict[str, Any]]:
    return await zoho_records(zoho, org, "Invoices")


def open_key(row: dict[str, Any]) -> str:
    return f"{row['ARDivisionNo']}-{row['CustomerNo']}:{row['InvoiceNo']}:{row['InvoiceType']}"


async def test_open_and_history_invoices_are_one_zoho_invoice_each(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    await sage.post(f"/_emulator/companies/{COMPANY}/generate", json={"customers": 40, "seed": 3})
    history = await sage_table(sage, COMPANY, "AR_InvoiceHistoryHeader")
    opened = await sage_table(sage, COMPANY, "AR_OpenInvoice")
    only_open = [r for r in opened if r["InvoiceType"] == "FC"]
    assert only_open and len(opened) > len(only_open)  # both kinds are in the company
    # Open invoices first: history must then find the records they created, not add its own.
    await zoho_tenant(
        app_pool, keyring, services, tenant_id, "enterprise", company=COMPANY, entities=FIRST
    )
    async with httpx.AsyncClient(timeout=60) as http:
        await setup(app_pool, keyring, tenant_id, http=http)
    await eventually(
        lambda: zoho_invoices(zoho, tenant_id),
        lambda found: len(found) == len(opened),
        what="the open invoices in Zoho",
        stack=services,
    )
    await app_pool.execute(
        "UPDATE tenants SET config = jsonb_set(config, '{entities}', $2::jsonb)"
        " WHERE tenant_id = $1",
        tenant_id,
        [*FIRST, Entity.AR_INVOICE],
    )
    records = await eventually(
        lambda: zoho_invoices(zoho, tenant_id),
        lambda found: sum(1 for r in found if r.get("Sage_Invoice_No")) == len(history),
        what="every history invoice in Zoho",
        stack=services,
    )
    assert len(records) == len(history) + len(only_open)  # no invoice twice
    by_open_key = {r.get("Sage_Open_Invoice_Key"): r for r in records}
    for row in opened:
        record = by_open_key[open_key(row)]
        assert record["Sage_Balance"] == row["Balance"]
        assert record["Due_Date"].replace("-", "") == row["InvoiceDueDate"]
        assert record["Sage_Invoice_Status"] == ("Paid" if row["Balance"] == 0 else "Open")
        assert (row["InvoiceType"] == "FC") == (record.get("Sage_Invoice_No") is None)

    purged = next(r for r in opened if r["InvoiceType"] != "FC")
    await sage.post(
        f"/_emulator/companies/{COMPANY}/tables/AR_OpenInvoice/delete",
        json={
            "key": [purged[c] for c in ("ARDivisionNo", "CustomerNo", "InvoiceNo")]
            + [purged["InvoiceType"]]
        },
    )
    closed = await eventually(
        lambda: zoho_invoices(zoho, tenant_id),
        lambda found: any(
            r.get("Sage_Open_Invoice_Key") == open_key(purged)
            and r.get("Sage_Invoice_Status") == "Closed"
            for r in found
        ),
        what="the purged open invoice closed in Zoho",
        stack=services,
    )
    record = next(r for r in closed if r.get("Sage_Open_Invoice_Key") == open_key(purged))
    assert record["Sage_Balance"] == 0 and record["Sage_Invoice_No"]  # kept, not deleted
    assert len(closed) == len(records)
