"""The whole stack with two tenants, one of whose Zoho org answers every call `200 {"data": []}`:
the other tenant's load and live edits are all written meanwhile (its records share every
partition with the broken one's), the broken tenant is parked with the reason in `mlc status`
and nothing of it fails; once its org answers properly, the writer writes it by itself."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack
from mlc_devtools.emulated import connect_tenant

from tests.e2e.conftest import eventually, key_of, onboard, zoho_accounts
from tests.e2e.replay_support import mlc_json

CALM, CALM_CO = "calm-co", "CLM"
BROKEN, BROKEN_CO = "broken-co", "BRK"
CUSTOMERS = 40


async def edit_phones(sage: httpx.AsyncClient, company: str, count: int) -> dict[str, str]:
    rows = (await sage.get(f"/_emulator/companies/{company}/ar_customers")).json()["records"]
    edits = [
        {
            "ARDivisionNo": r["ARDivisionNo"],
            "CustomerNo": r["CustomerNo"],
            "TelephoneNo": f"(717) 555-{i:04d}",
            "TelephoneExt": "",
        }
        for i, r in enumerate(rows[:count])
    ]
    stored = await sage.post(
        f"/_emulator/companies/{company}/ar_customers", json={"records": edits}
    )
    assert stored.status_code == 200, stored.text
    return {key_of(r): r["TelephoneNo"] for r in stored.json()["records"]}


@pytest.mark.timeout(1200)
async def test_an_org_answering_no_results_costs_only_its_own_tenant(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    await connect_tenant(
        pool=app_pool, keyring=keyring, stack=services.config, tenant_id=BROKEN, company=BROKEN_CO
    )
    fault = await zoho.post("/_emulator/faults", json={"org": BROKEN, "answer": "no_data"})
    assert fault.status_code == 200, fault.text
    try:
        seeded = await sage.post(
            f"/_emulator/companies/{BROKEN_CO}/seed",
            json={"count": CUSTOMERS, "seed": 4, "division": "01"},
        )
        assert seeded.status_code == 200, seeded.text
        await onboard(
            services,
            app_pool,
            keyring,
            sage,
            tenant=CALM,
            company=CALM_CO,
            customers=CUSTOMERS,
            seed=5,
            zoho=zoho,
            within=300,
        )
        phones = await edit_phones(sage, CALM_CO, 10)

        def edited(accounts: list[dict[str, Any]]) -> bool:
            found = {a["Sage_Customer_No"]: a.get("Phone") for a in accounts}
            return all(found.get(k) == p for k, p in phones.items())

        await eventually(
            lambda: zoho_accounts(zoho, CALM),
            edited,
            what="the calm tenant's live edits",
            stack=services,
            within=300,
        )
        status = await mlc_json(services, "status", BROKEN, "--no-zoho")
        assert "Zoho answered malformed: ZohoError" in status["zoho_holds"][BROKEN]
        assert await zoho_accounts(zoho, BROKEN) == []
        assert await mlc_json(services, "audit", "failures", "--tenant", BROKEN) == []
    finally:
        await zoho.delete("/_emulator/faults", params={"org": BROKEN})
    await eventually(
        lambda: zoho_accounts(zoho, BROKEN),
        lambda accounts: len(accounts) == CUSTOMERS,
        what="the broken tenant's records once its org answers properly",
        stack=services,
        within=600,
    )
    assert await mlc_json(services, "audit", "failures", "--tenant", BROKEN) == []
