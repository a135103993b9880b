"""Every Sage entity through the real agent into the audit log; a delete found by reconciliation.

The whole stack runs as processes (emulator, agent, the four services); the tenant polls all
eight entities of a generated company.
"""

from __future__ import annotations

from collections import Counter

import asyncpg
import httpx
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.entities.sage import SAGE_TABLES
from mlc_devtools.devstack import DevStack
from mlc_devtools.emulated import connect_tenant

from tests.e2e.conftest import eventually

TENANT, COMPANY = "sagefull", "SGE"


async def raw_counts(pool: asyncpg.Pool, event_type: str) -> Counter[str]:
    rows = await pool.fetch(
        "SELECT entity, count(DISTINCT source_key) AS n FROM audit_events"
        " WHERE tenant_id = $1 AND event_type = $2 GROUP BY entity",
        TENANT,
        event_type,
    )
    return Counter({r["entity"]: r["n"] for r in rows})


async def test_every_entity_and_a_delete_reach_the_audit_log(
    services: DevStack, app_pool: asyncpg.Pool, keyring: KeyRing, sage: httpx.AsyncClient
) -> None:
    generated = await sage.post(
        f"/_emulator/companies/{COMPANY}/generate", json={"customers": 20, "seed": 21}
    )
    created = generated.json()["created"]
    await connect_tenant(
        pool=app_pool, keyring=keyring, stack=services.config, tenant_id=TENANT, company=COMPANY
    )
    await app_pool.execute(
        "UPDATE tenants SET config = jsonb_set(config, '{entities}', $2::jsonb)"
        " WHERE tenant_id = $1",
        TENANT,
        [str(e) for e in Entity],
    )
    expected = Counter({str(e): created[SAGE_TABLES[e].table] for e in Entity})
    await eventually(
        lambda: raw_counts(app_pool, "sage.record.changed"),
        lambda counts: counts == expected,
        what="every entity's records as raw events",
        stack=services,
    )
    vendors = (await sage.get(f"/_emulator/companies/{COMPANY}/tables/AP_Vendor")).json()
    gone = vendors["records"][0]
    await sage.post(
        f"/_emulator/companies/{COMPANY}/tables/AP_Vendor/delete",
        json={"key": [gone["APDivisionNo"], gone["VendorNo"]]},
    )
    deleted = await eventually(
        lambda: app_pool.fetch(
            "SELECT source_key FROM audit_events WHERE tenant_id = $1"
            " AND event_type = 'sage.record.deleted'",
            TENANT,
        ),
        lambda rows: len(rows) == 1,
        what="the vendor's delete event",
        stack=services,
    )
    assert deleted[0]["source_key"] == f"{gone['APDivisionNo']}-{gone['VendorNo']}"
    status = await app_pool.fetch(
        "SELECT entity, last_success_at, consecutive_failures FROM poller_status"
        " WHERE tenant_id = $1",
        TENANT,
    )
    assert {r["entity"] for r in status} == {str(e) for e in Entity}
    assert all(r["last_success_at"] is not None for r in status)
