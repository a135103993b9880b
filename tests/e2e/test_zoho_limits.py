"""The whole stack under Zoho's limits: a 429 storm pauses the tenant (deferred, not failed),
the writer resumes on its own, every record lands once, and the audit log shows both."""

from __future__ import annotations

from collections import defaultdict

import asyncpg
import httpx
from mlc_cli.devstack import DevStack
from mlc_cli.emulated import connect_tenant
from mlc_core.crypto import KeyRing

from tests.e2e.conftest import audit_rows, eventually, zoho_accounts

TENANT, COMPANY = "hooli", "HOO"


async def test_429_storm_is_a_pause_in_the_audit_log_and_nothing_fails(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    await connect_tenant(
        pool=app_pool, keyring=keyring, stack=services.config, tenant_id=TENANT, company=COMPANY
    )
    storm = await zoho.post("/_emulator/faults", json={"org": TENANT, "status": 429, "calls": 3})
    assert storm.status_code == 200, storm.text
    seeded = await sage.post(
        f"/_emulator/companies/{COMPANY}/seed", json={"count": 30, "seed": 5, "division": "01"}
    )
    assert seeded.status_code == 200, seeded.text

    accounts = await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: len(a) == 30,
        what="all 30 accounts after the pause",
        stack=services,
        within=240,
    )
    assert all(a["$write_count"] == 1 for a in accounts)

    async def outcome_history() -> dict[str, list[str]]:
        rows = await audit_rows(app_pool, TENANT, event_type="zoho.write.outcome")
        history: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            history[row["source_key"]].append(row["payload"]["status"])
        return history

    history = await eventually(
        outcome_history,
        lambda h: len(h) == 30 and all("succeeded" in s for s in h.values()),
        what="an outcome per record in the audit log",
        stack=services,
    )
    paused = [key for key, statuses in history.items() if statuses[0] == "deferred"]
    assert paused, "the 429s were recorded as deferrals"
    for key in paused:
        assert history[key][-1] == "succeeded", key  # and each one recovered
    assert not any("failed" in statuses for statuses in history.values())
