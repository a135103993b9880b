"""AR customers reach Zoho Accounts through all four services, over real Kafka and PostgreSQL.

Runs the services as separate processes, exactly as `make demo` does, against the emulators.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack

from tests.e2e.conftest import audit_rows, eventually, key_of, onboard, zoho_accounts

TENANT, COMPANY = "acme", "ABC"


async def sage_rows(sage: httpx.AsyncClient, company: str = COMPANY) -> dict[str, dict[str, Any]]:
    response = await sage.get(f"/_emulator/companies/{company}/ar_customers")
    response.raise_for_status()
    body = response.json()
    rows = body["records"] if isinstance(body, dict) else body
    return {key_of(r): r for r in rows}


def assert_account_matches(account: dict[str, Any], row: dict[str, Any]) -> None:
    key = key_of(row)
    assert account["Account_Name"] == row["CustomerName"].strip()
    assert account["Account_Number"] == key and account["Sage_Customer_No"] == key
    assert account.get("Billing_City") == (row.get("City") or None)
    phone = row.get("TelephoneNo") or None
    if phone and row.get("TelephoneExt"):
        phone = f"{phone} x{row['TelephoneExt']}"
    assert account.get("Phone") == phone


@pytest.fixture(scope="module")
async def flowing(
    services: DevStack, app_pool: asyncpg.Pool, keyring: KeyRing, sage: httpx.AsyncClient
) -> DevStack:
    await onboard(
        services, app_pool, keyring, sage, tenant=TENANT, company=COMPANY, customers=500, seed=7
    )
    return services


async def test_500_customers_appear_once_with_the_right_fields(
    flowing: DevStack, sage: httpx.AsyncClient, zoho: httpx.AsyncClient
) -> None:
    rows = await sage_rows(sage)
    assert len(rows) == 500
    accounts = await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: len(a) >= 500,
        what="500 accounts in Zoho",
        stack=flowing,
    )
    by_key = {a["Sage_Customer_No"]: a for a in accounts}
    assert len(accounts) == len(by_key) == 500  # each once
    assert by_key.keys() == rows.keys()
    for key, row in rows.items():
        assert_account_matches(by_key[key], row)


async def test_changes_arrive(
    flowing: DevStack, sage: httpx.AsyncClient, zoho: httpx.AsyncClient
) -> None:
    await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: len(a) >= 500,
        what="initial load",
        stack=flowing,
    )
    keys = sorted((await sage_rows(sage)).keys())[100:130]
    edits = [
        {
            "ARDivisionNo": k[:2],
            "CustomerNo": k[3:],
            "TelephoneNo": f"(608) 555-{i:04d}",
            "City": f"Newtown {i}",
        }
        for i, k in enumerate(keys)
    ]
    stored = await sage.post(
        f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": edits}
    )
    changed = {key_of(r): r for r in stored.json()["records"]}
    assert len(changed) == 30 and all(r["City"].startswith("Newtown") for r in changed.values())

    def all_arrived(accounts: list[dict[str, Any]]) -> bool:
        by_key = {a["Sage_Customer_No"]: a for a in accounts}
        try:
            for key, row in changed.items():
                assert_account_matches(by_key[key], row)
        except (AssertionError, KeyError):
            return False
        return True

    accounts = await eventually(
        lambda: zoho_accounts(zoho, TENANT), all_arrived, what="30 changes in Zoho", stack=flowing
    )
    assert len(accounts) == 500  # updated in place, no duplicates


async def test_audit_links_raw_event_command_and_outcome(
    flowing: DevStack, app_pool: asyncpg.Pool, zoho: httpx.AsyncClient
) -> None:
    accounts = await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: len(a) >= 500,
        what="initial load",
        stack=flowing,
    )
    sample = accounts[0]["Sage_Customer_No"]

    async def trail() -> list[asyncpg.Record]:
        return await audit_rows(app_pool, TENANT, source_key=sample)

    rows = await eventually(
        trail,
        lambda r: (
            {x["event_type"] for x in r}
            >= {"sage.record.changed", "zoho.upsert.requested", "zoho.write.outcome"}
        ),
        what=f"audit trail of {sample}",
        stack=flowing,
    )
    raw = next(r for r in rows if r["event_type"] == "sage.record.changed")
    cmd = next(r for r in rows if r["causation_id"] == raw["event_id"])
    outcome = next(r for r in rows if r["causation_id"] == cmd["event_id"])
    assert cmd["event_type"] == "zoho.upsert.requested"
    assert outcome["event_type"] == "zoho.write.outcome"
    assert outcome["payload"]["status"] == "succeeded"
    assert outcome["payload"]["zoho_id"] == next(
        a["id"] for a in accounts if a["Sage_Customer_No"] == sample
    )
    assert raw["correlation_id"] == cmd["correlation_id"] == outcome["correlation_id"]
    assert raw["topic"] == "mlc.sage.changes" and outcome["topic"] == "mlc.zoho.outcomes"
