"""Zoho trouble of every kind, one after another, for one tenant of the running stack: a 5xx
burst, a token-expiry storm, the org moved to the EU, and per-record rejections (a field made
mandatory by the org's administrator). Every record ends correct in Zoho, none is written
twice, and the audit log shows each failure and its recovery.

One test on purpose: each phase needs the stack warm and a loaded tenant, and together they
take well under a minute; separately they would pay the onboarding four times.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg
import httpx
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack

from tests.e2e.conftest import audit_rows, eventually, key_of, onboard, zoho_accounts
from tests.e2e.replay_support import mlc_json

TENANT, COMPANY = "umbrella", "UMB"


async def succeeded(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await audit_rows(pool, TENANT, event_type="zoho.write.outcome")
    return [dict(r["payload"]) for r in rows if r["payload"]["status"] == "succeeded"]


async def change(
    stack: DevStack, pool: asyncpg.Pool, sage: httpx.AsyncClient, edits: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Store `edits` in Sage; returns the successful outcomes that the edits caused."""
    before = Counter(o["source_key"] for o in await succeeded(pool))
    stored = await sage.post(
        f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": edits}
    )
    assert stored.status_code == 200, stored.text
    keys = {key_of(e) for e in edits}

    async def new_outcomes() -> list[dict[str, Any]]:
        seen: Counter[str] = Counter()
        fresh = []
        for outcome in await succeeded(pool):
            seen[outcome["source_key"]] += 1
            if (
                outcome["source_key"] in keys
                and seen[outcome["source_key"]] > before[outcome["source_key"]]
            ):
                fresh.append(outcome)
        return fresh

    return await eventually(
        new_outcomes, lambda o: {x["source_key"] for x in o} == keys, what=f"{keys}", stack=stack
    )


def phones(keys: list[str], area: str) -> list[dict[str, str]]:
    return [
        {
            "ARDivisionNo": k[:2],
            "CustomerNo": k[3:],
            "TelephoneNo": f"({area}) 555-{i:04d}",
            "TelephoneExt": "",
        }
        for i, k in enumerate(keys)
    ]


async def test_5xx_token_storm_dc_move_and_rejections_all_recover_in_the_trail(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    await onboard(
        services, app_pool, keyring, sage, tenant=TENANT, company=COMPANY, customers=12, seed=21,
        zoho=zoho, within=180,
    )  # fmt: skip
    keys = sorted(a["Sage_Customer_No"] for a in await zoho_accounts(zoho, TENANT))

    # A 5xx burst: the writer's quick retries ride it out; the outcome says what it rode out.
    await zoho.post("/_emulator/faults", json={"org": TENANT, "status": 503, "calls": 2})
    burst = await change(services, app_pool, sage, phones(keys[0:4], "801"))
    assert any("INTERNAL_ERROR (503)" in (o["recovered_from"] or "") for o in burst), burst

    # Every access token expires at once: one refresh, the same batch goes through.
    await zoho.post(f"/_emulator/orgs/{TENANT}/expire-tokens")
    storm = await change(services, app_pool, sage, phones(keys[4:8], "802"))
    assert any("INVALID_TOKEN" in (o["recovered_from"] or "") for o in storm), storm

    # The org moves to the EU data centre: the next token carries the new api_domain.
    await zoho.post(f"/_emulator/orgs/{TENANT}/move", json={"dc": "eu"})
    moved = await change(services, app_pool, sage, phones(keys[8:12], "803"))
    assert any("org moved" in (o["recovered_from"] or "") for o in moved), moved

    # The administrator makes Website mandatory: of four new customers, the two without one
    # are rejected (a failed outcome each, the others written); fixed in Sage, they recover.
    rule = await zoho.post(
        f"/_emulator/orgs/{TENANT}/fields/Accounts/Website", json={"mandatory": True}
    )
    assert rule.status_code == 200, rule.text
    new = [
        {"ARDivisionNo": "01", "CustomerNo": f"NEW{i}", "CustomerName": f"Newco {i} Ltd",
         "URLAddress": "www.newco.test" if i < 2 else ""}
        for i in range(4)
    ]  # fmt: skip
    await change(services, app_pool, sage, new[:2])
    rejected = await _failed_outcomes(services, app_pool, sage, new[2:])
    assert {(f["source_key"], f["error_code"], f["error_field"]) for f in rejected} == {
        ("01-NEW2", "MANDATORY_NOT_FOUND", "Website"),
        ("01-NEW3", "MANDATORY_NOT_FOUND", "Website"),
    }
    fixed = [e | {"URLAddress": "www.fixed.test"} for e in new[2:]]
    await change(services, app_pool, sage, fixed)

    accounts = {a["Sage_Customer_No"]: a for a in await zoho_accounts(zoho, TENANT)}
    assert len(accounts) == 16
    expected = {e["CustomerNo"]: e["TelephoneNo"] for e in phones(keys[0:4], "801")}
    expected |= {e["CustomerNo"]: e["TelephoneNo"] for e in phones(keys[4:8], "802")}
    expected |= {e["CustomerNo"]: e["TelephoneNo"] for e in phones(keys[8:12], "803")}
    for key in keys:  # written twice: the initial load and the one change, none twice over
        assert accounts[key]["Phone"] == expected[key[3:]], key
        assert accounts[key]["$write_count"] == 2, key
    for i in range(4):
        assert accounts[f"01-NEW{i}"]["$write_count"] == 1
    rode_out = next(o["source_key"] for o in burst if o["recovered_from"])
    for key in (rode_out, "01-NEW2"):
        trail = await mlc_json(services, "audit", "trail", TENANT, "ar_customer", key)
        kinds = [e["kind"] for e in trail["events"]]
        assert "recovered" in kinds, kinds
    assert kinds.index("write failed") < kinds.index("recovered")
    assert trail["state"]["last_outcome"] == "succeeded"


async def _failed_outcomes(
    stack: DevStack, pool: asyncpg.Pool, sage: httpx.AsyncClient, edits: list[dict[str, str]]
) -> list[dict[str, Any]]:
    stored = await sage.post(
        f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": edits}
    )
    assert stored.status_code == 200, stored.text

    async def failed() -> list[dict[str, Any]]:
        rows = await audit_rows(pool, TENANT, event_type="zoho.write.outcome")
        return [dict(r["payload"]) for r in rows if r["payload"]["status"] == "failed"]

    return await eventually(failed, lambda f: len(f) >= len(edits), what="rejections", stack=stack)
