"""Bad input and an unreachable Zoho: clear errors naming tenant, entity and key; the other
records, and the other tenants, keep flowing; nothing is lost (bad records are dead letters,
commands for an unreachable Zoho wait in PostgreSQL and are written once it is back)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack

from tests.e2e.conftest import audit_rows, eventually, onboard, zoho_accounts

TENANT, COMPANY = "globex", "XYZ"
NEIGHBOUR, NEIGHBOUR_COMPANY = "initech", "INI"


@pytest.fixture(scope="module")
async def two_tenants(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> DevStack:
    for tenant, company in ((TENANT, COMPANY), (NEIGHBOUR, NEIGHBOUR_COMPANY)):
        await onboard(
            services,
            app_pool,
            keyring,
            sage,
            tenant=tenant,
            company=company,
            customers=20,
            seed=3,
            zoho=zoho,
            within=120,
        )
    return services


async def dead_letters(pool: asyncpg.Pool, tenant: str) -> list[dict[str, Any]]:
    rows = await audit_rows(pool, tenant, event_type="mlc.dead_letter")
    return [dict(r["payload"]) for r in rows]


async def test_nameless_and_badly_keyed_records_give_specific_errors(
    two_tenants: DevStack,
    app_pool: asyncpg.Pool,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    bad = [
        {"ARDivisionNo": "01", "CustomerNo": "NONAME", "CustomerName": ""},
        {"ARDivisionNo": "01", "CustomerNo": "bad key", "CustomerName": "Lower Case Inc"},
        {"ARDivisionNo": "01", "CustomerNo": "GOODONE", "CustomerName": "Good One Ltd"},
    ]
    stored = await sage.post(f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": bad})
    assert stored.status_code == 200, stored.text

    letters = await eventually(
        lambda: dead_letters(app_pool, TENANT),
        lambda d: len(d) >= 2,
        what="two dead letters",
        stack=two_tenants,
    )
    by_field = {d["field"]: d for d in letters}
    nameless, badkey = by_field["CustomerName"], by_field["CustomerNo"]
    for part in (TENANT, "ar_customer", "01-NONAME", "CustomerName"):
        assert part in nameless["error_message"]
    assert nameless["stage"] == "mapper"
    for part in (TENANT, "ar_customer", "01-bad key", "CustomerNo"):
        assert part in badkey["error_message"]
    assert (
        badkey["stage"] == "sage-poller" and badkey["original"]["CustomerName"] == "Lower Case Inc"
    )

    accounts = await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: any(x["Sage_Customer_No"] == "01-GOODONE" for x in a),
        what="the good record next to the bad ones",
        stack=two_tenants,
    )
    assert not any(x["Account_Name"] == "Lower Case Inc" for x in accounts)


async def test_unreachable_zoho_defers_clearly_and_spares_other_tenants(
    two_tenants: DevStack,
    app_pool: asyncpg.Pool,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    fault = await zoho.post(
        "/_emulator/faults", json={"org": TENANT, "status": 503, "seconds": 600}
    )
    assert fault.status_code == 200, fault.text
    try:
        hit = await change_phones(sage, COMPANY, "0100")
        spared = await change_phones(sage, NEIGHBOUR_COMPANY, "0200")
        hit_keys = {f"{r['ARDivisionNo']}-{r['CustomerNo']}" for r in hit}

        async def deferred_outcomes() -> list[dict[str, Any]]:
            rows = await audit_rows(app_pool, TENANT, event_type="zoho.write.outcome")
            return [dict(r["payload"]) for r in rows if r["payload"]["status"] == "deferred"]

        deferrals = await eventually(
            deferred_outcomes,
            lambda f: hit_keys <= {x["source_key"] for x in f},
            what="deferred outcomes for the tenant whose Zoho is down",
            stack=two_tenants,
        )
        sample = next(f for f in deferrals if f["source_key"] in hit_keys)
        assert sample["retryable"] is True
        for part in (TENANT, "ar_customer", sample["source_key"], "Zoho unavailable"):
            assert part in sample["error_message"]
        letters = await dead_letters(app_pool, TENANT)
        assert not hit_keys & {d["source_key"] for d in letters if d["stage"] == "zoho-writer"}

        def neighbour_updated(accounts: list[dict[str, Any]]) -> bool:
            by_key = {a["Sage_Customer_No"]: a for a in accounts}
            return all(
                by_key[f"{r['ARDivisionNo']}-{r['CustomerNo']}"]["Phone"] == _phone(r)
                for r in spared
            )

        await eventually(
            lambda: zoho_accounts(zoho, NEIGHBOUR),
            neighbour_updated,
            what="the other tenant's changes during the outage",
            stack=two_tenants,
        )
    finally:
        await zoho.delete("/_emulator/faults")

    recovered = await change_phones(sage, COMPANY, "0300")
    keys = {f"{r['ARDivisionNo']}-{r['CustomerNo']}": _phone(r) for r in recovered}
    await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: all(
            x["Phone"] == keys[x["Sage_Customer_No"]] for x in a if x["Sage_Customer_No"] in keys
        ),
        what="changes flowing again after the outage",
        stack=two_tenants,
        within=600,  # the writer probes the tenant with a growing backoff
    )


async def change_phones(sage: httpx.AsyncClient, company: str, prefix: str) -> list[dict[str, Any]]:
    """Give three of the company's customers a new phone number (a change Zoho must show)."""
    rows = (await sage.get(f"/_emulator/companies/{company}/ar_customers")).json()["records"]
    edits = [
        {
            "ARDivisionNo": r["ARDivisionNo"],
            "CustomerNo": r["CustomerNo"],
            "TelephoneNo": f"(312) 555-{prefix[:2]}{i:02d}",
            "TelephoneExt": "",
        }
        for i, r in enumerate(rows[:3])
    ]
    stored = await sage.post(
        f"/_emulator/companies/{company}/ar_customers", json={"records": edits}
    )
    records: list[dict[str, Any]] = stored.json()["records"]
    return records


def _phone(row: dict[str, Any]) -> str | None:
    phone = row.get("TelephoneNo") or None
    return f"{phone} x{row['TelephoneExt']}" if phone and row.get("TelephoneExt") else phone
