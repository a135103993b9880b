"""`mlc reconcile`: Sage against Zoho by external key; writes nothing; `--fix` re-publishes
the records that differ or are missing, and they converge."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_core.tenants import load_tenant
from mlc_core.zoho.records import upsert
from mlc_devtools.devstack import DevStack
from zoho_writer.tokens import TokenProvider

from tests.e2e.conftest import eventually, onboard, zoho_accounts
from tests.e2e.replay_support import amlc, mlc_json

TENANT, COMPANY = "recon-co", "RCN"


def summary(stdout: str) -> dict[str, int]:
    """The counts line of the entity table: ar_customer  equal  different  only…  only…"""
    line = next(x for x in stdout.splitlines() if x.startswith("ar_customer "))
    numbers = [int(part) for part in line.split()[1:5]]
    return dict(zip(("equal", "different", "only_in_sage", "only_in_zoho"), numbers, strict=True))


@pytest.fixture(scope="module")
async def loaded(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> DevStack:
    await onboard(
        services,
        app_pool,
        keyring,
        sage,
        tenant=TENANT,
        company=COMPANY,
        customers=30,
        seed=23,
        zoho=zoho,
    )
    return services


async def tenant_sync_events(pool: asyncpg.Pool) -> int:
    """The tenant's changes, commands and outcomes (other tenants' traffic flows meanwhile)."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND event_type IN"
        " ('sage.record.changed', 'zoho.upsert.requested', 'zoho.write.outcome')",
        TENANT,
    )
    return count


async def failing(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM audit_records WHERE tenant_id = $1 AND last_outcome = 'failed'",
        TENANT,
    )
    return count


async def make_differences(
    stack: DevStack,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    """Two edits and one new customer fail to reach Zoho; one Zoho record has no Sage twin."""
    rows = (await sage.get(f"/_emulator/companies/{COMPANY}/ar_customers")).json()["records"]
    # Refused as a whole (400): failed for a person. A 5xx would only delay them, the writer
    # retries those by itself.
    await zoho.post("/_emulator/faults", json={"org": TENANT, "status": 400})
    try:
        edits: list[dict[str, Any]] = [
            {"ARDivisionNo": r["ARDivisionNo"], "CustomerNo": r["CustomerNo"], "City": "Oshkosh"}
            for r in rows[:2]
        ]
        edits.append({"ARDivisionNo": "01", "CustomerNo": "NEWCO", "CustomerName": "New Co"})
        await sage.post(f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": edits})
        await eventually(
            lambda: failing(pool), lambda n: n == 3, what="3 failures", stack=stack, within=300
        )
    finally:
        await zoho.delete("/_emulator/faults", params={"org": TENANT})
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=TENANT)
    token = await TokenProvider(pool=pool, keyring=keyring, http=zoho).token(tenant)
    ghost = {"Account_Name": "Ghost Ltd", "Sage_Customer_No": "99-GHOST"}
    await upsert(
        zoho,
        api_domain=token.api_domain,
        access_token=token.value,
        module="Accounts",
        records=[ghost],
        duplicate_check_fields=["Sage_Customer_No"],
        trigger=[],
    )


@pytest.mark.timeout(1200)
async def test_reconcile_reports_writes_nothing_and_fix_converges(
    loaded: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    clean = await amlc(loaded, "reconcile", TENANT)
    expected = {"equal": 30, "different": 0, "only_in_sage": 0, "only_in_zoho": 0}
    assert summary(clean.stdout) == expected, clean.stdout

    await make_differences(loaded, app_pool, keyring, sage, zoho)
    events = await tenant_sync_events(app_pool)
    written = (await zoho.get(f"/_emulator/orgs/{TENANT}/stats")).json()["records_written"]
    report = tmp_path / "reconcile.csv"
    found = await amlc(loaded, "reconcile", TENANT, "--csv", str(report))
    assert summary(found.stdout) == {
        "equal": 28,
        "different": 2,
        "only_in_sage": 1,
        "only_in_zoho": 1,
    }
    with report.open() as handle:
        rows = {r["key"]: r for r in csv.DictReader(handle)}
    assert len(rows) == 32
    assert rows["01-NEWCO"]["status"] == "only_in_sage"
    assert rows["99-GHOST"]["status"] == "only_in_zoho" and rows["99-GHOST"]["zoho_id"]
    different = [r for r in rows.values() if r["status"] == "different"]
    assert len(different) == 2
    assert all("Billing_City" in r["fields"].split() for r in different)  # City -> Billing_City
    # a report only: nothing published, nothing written
    assert await tenant_sync_events(app_pool) == events
    assert (await zoho.get(f"/_emulator/orgs/{TENANT}/stats")).json()["records_written"] == written

    fixed = await amlc(loaded, "reconcile", TENANT, "--fix")
    assert "re-published 3 record(s)" in fixed.stdout

    async def after_fix() -> dict[str, int]:
        return summary((await amlc(loaded, "reconcile", TENANT)).stdout)

    await eventually(
        after_fix,
        lambda s: s == {"equal": 31, "different": 0, "only_in_sage": 0, "only_in_zoho": 1},
        what="reconcile --fix to converge",
        stack=loaded,
        within=300,
    )


async def hand_edit(
    pool: asyncpg.Pool, keyring: KeyRing, zoho: httpx.AsyncClient, **by_key: Any
) -> None:
    """Someone edits records directly in Zoho (the connector's writer knows nothing of it)."""
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=TENANT)
    token = await TokenProvider(pool=pool, keyring=keyring, http=zoho).token(tenant)
    reply = await upsert(
        zoho,
        api_domain=token.api_domain,
        access_token=token.value,
        module="Accounts",
        records=[{"Sage_Customer_No": key, **fields} for key, fields in by_key.items()],
        duplicate_check_fields=["Sage_Customer_No"],
        trigger=[],
    )
    assert all(r.ok for r in reply.results)


@pytest.mark.timeout(900)
async def test_reconcile_uses_the_tenant_map_pages_with_tokens_and_fix_repairs_a_hand_edit(
    loaded: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    zoho: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    """After the test above: 31 records in both, one only in Zoho."""
    accounts = {a["Sage_Customer_No"]: a for a in await zoho_accounts(zoho, TENANT)}
    skipped_key, edited_key = sorted(k for k in accounts if k != "99-GHOST")[:2]
    mapping = tmp_path / "map.yaml"
    mapping.write_text("version: 1\nentities:\n  ar_customer:\n    skip: [Fax]\n")
    await amlc(loaded, "mapping", "set", TENANT, str(mapping))
    await hand_edit(
        app_pool, keyring, zoho,
        **{skipped_key: {"Fax": "(999) 555-0000"}, edited_key: {"Billing_City": "Handville"}},
    )  # fmt: skip
    # `page` reaches only the first 10 records now: the rest needs page_token.
    limit = {"discrete_page_limit": 10}
    assert (await zoho.post(f"/_emulator/orgs/{TENANT}/settings", json=limit)).status_code == 200
    report = tmp_path / "after-edit.csv"
    found = await amlc(loaded, "reconcile", TENANT, "--zoho-page-size", "7", "--csv", str(report))
    assert summary(found.stdout) == {
        "equal": 30,  # the Fax edit is no difference: the tenant's map does not send Fax
        "different": 1,
        "only_in_sage": 0,
        "only_in_zoho": 1,
    }, found.stdout
    with report.open() as handle:
        rows = {r["key"]: r for r in csv.DictReader(handle)}
    assert rows[edited_key]["status"] == "different"
    assert rows[edited_key]["fields"] == "Billing_City"

    fixed = await amlc(loaded, "reconcile", TENANT, "--zoho-page-size", "7", "--fix")
    assert "re-published 1 record(s)" in fixed.stdout

    async def repaired() -> dict[str, Any]:
        return {a["Sage_Customer_No"]: a for a in await zoho_accounts(zoho, TENANT)}

    now = await eventually(
        repaired,
        lambda a: a[edited_key]["Billing_City"] == accounts[edited_key]["Billing_City"],
        what="the hand edit repaired by --fix",
        stack=loaded,
        within=300,
    )
    assert now[skipped_key]["Fax"] == "(999) 555-0000"  # not the connector's field any more
    again = await amlc(loaded, "reconcile", TENANT, "--zoho-page-size", "7")
    assert summary(again.stdout)["different"] == 0
    trail = await mlc_json(loaded, "audit", "trail", TENANT, "ar_customer", edited_key)
    forced = [e for e in trail["events"] if "forced" in e["summary"]]
    assert forced and all(e["kind"] == "replay" for e in forced)
    assert "reconcile --fix" in forced[-1]["summary"]
