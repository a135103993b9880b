"""A tenant's own mapping, end to end: `mlc zoho setup` creates the custom fields, the tenant's
mapping file is stored, and customers reach Zoho through all four services with the credit
fields and the overrides applied; a record with an unknown country becomes a dead letter naming
tenant, entity, key and column while the rest flows."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from mapper.masters import STATUS_NAMES
from mapper.store import save_map
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack

from tests.e2e.conftest import audit_rows, eventually, zoho_accounts
from tests.e2e.test_mapping_setup import zoho_tenant

TENANT, COMPANY = "mapco", "MAP"
MAP_FILE = """\
entities:
  ar_customer:
    skip: [Fax]
    defaults: {Account_Type: Customer}
"""


async def test_custom_fields_and_overrides_reach_zoho_and_bad_rows_are_named(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    await zoho_tenant(
        app_pool,
        keyring,
        services,
        TENANT,
        "enterprise",
        company=COMPANY,
        entities=[Entity.AR_CUSTOMER],
    )
    async with httpx.AsyncClient(timeout=60) as http:
        done = (await setup(app_pool, keyring, TENANT, http=http)).done
    assert "created field Accounts.Sage_Credit_Limit" in done
    await save_map(app_pool, TENANT, MAP_FILE)
    seeded = await sage.post(
        f"/_emulator/companies/{COMPANY}/seed", json={"count": 20, "seed": 11, "division": "01"}
    )
    assert seeded.status_code == 200, seeded.text
    bad = {"ARDivisionNo": "01", "CustomerNo": "NOWHERE", "CustomerName": "Nowhere Ltd"}
    stored = await sage.post(
        f"/_emulator/companies/{COMPANY}/ar_customers",
        json={"records": [bad | {"CountryCode": "ZZ"}]},
    )
    assert stored.status_code == 200, stored.text

    accounts = await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: len(a) >= 20,
        what="20 accounts with the tenant's mapping",
        stack=services,
    )
    rows = (await sage.get(f"/_emulator/companies/{COMPANY}/ar_customers")).json()["records"]
    by_key = {a["Sage_Customer_No"]: a for a in accounts}
    good = [r for r in rows if r["CustomerNo"] != "NOWHERE"]
    assert len(good) == 20 and "01-NOWHERE" not in by_key
    assert any(r.get("FaxNo") for r in good)  # so the skipped Fax is really left out
    for row in good:
        assert_mapped(by_key[f"{row['ARDivisionNo']}-{row['CustomerNo']}"], row)

    letters = await eventually(
        lambda: audit_rows(app_pool, TENANT, event_type="mlc.dead_letter"),
        lambda d: any(r["payload"]["source_key"] == "01-NOWHERE" for r in d),
        what="the unknown country's dead letter",
        stack=services,
    )
    letter = next(r["payload"] for r in letters if r["payload"]["source_key"] == "01-NOWHERE")
    assert letter["stage"] == "mapper" and letter["field"] == "CountryCode"
    for part in (TENANT, "ar_customer", "01-NOWHERE", "CountryCode", "unknown country"):
        assert part in letter["error_message"]


def assert_mapped(account: dict[str, Any], row: dict[str, Any]) -> None:
    assert account["Account_Name"] == row["CustomerName"].strip()
    assert account.get("Fax") is None  # skipped by the tenant's map
    assert account["Account_Type"] == (row.get("CustomerType") or "Customer")
    assert account["Sage_Credit_Limit"] == round(float(row["CreditLimit"]), 2)
    assert account["Sage_Status"] == STATUS_NAMES[row["CustomerStatus"]]
    assert account["Sage_Credit_Hold"] is (row["CreditHold"] == "Y")
