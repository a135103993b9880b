"""The operations called directly, as the web console will call them, on real PostgreSQL and
Kafka: typed results, refusals that name the tenant and what to do, progress through the
callback; nothing printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.tenants import TenantNotFound, add_tenant, set_enabled
from mlc_core.zoho.oauth import access_token_context
from mlc_ops import audit, status, sync, tenants
from mlc_ops.errors import NotFound, Refused
from zoho_writer.admin import cached_token

from tests.cli.test_keys_rotate import a_tenant

pytestmark = pytest.mark.integration


async def test_sync_refuses_what_the_poller_could_not_do_and_queues_the_rest(
    app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    await add_tenant(app_pool, keyring=keyring, tenant=a_tenant(tenant_id))
    asked = {"pool": app_pool, "keyring": keyring, "tenant_id": tenant_id}
    with pytest.raises(Refused, match="expected ARDivisionNo-CustomerNo"):
        await sync.request_sync(**asked, entity=Entity.AR_CUSTOMER, key="ABF")
    with pytest.raises(TenantNotFound):
        await sync.request_sync(**asked | {"tenant_id": "nobody"}, entity=Entity.AR_CUSTOMER)
    await set_enabled(app_pool, tenant_id, enabled=False)
    with pytest.raises(Refused, match=f"tenant {tenant_id} is disabled"):
        await sync.request_sync(**asked, entity=Entity.AR_CUSTOMER, full=True)
    await set_enabled(app_pool, tenant_id, enabled=True)

    request_id = await sync.request_sync(**asked, entity=Entity.AR_CUSTOMER, key="01-ABF")
    seen: list[dict[str, Any]] = []
    # no poller runs here: the request stays pending, reported once, until the wait gives up
    with pytest.raises(sync.SyncTimedOut, match=f"sync request {request_id} still pending"):
        await sync.wait_for_sync(
            pool=app_pool,
            request_id=request_id,
            give_up_after=0.3,
            interval=0.05,
            on_progress=seen.append,
        )
    assert [(r["mode"], r["source_key"], r["status"]) for r in seen] == [
        ("key", "01-ABF", "pending")
    ]
    with pytest.raises(NotFound):
        await sync.sync_status(pool=app_pool, request_id=-1)


async def test_trail_says_what_is_missing(app_pool: asyncpg.Pool, tenant_id: str) -> None:
    with pytest.raises(Refused, match="give <entity> <key>"):
        await audit.trail(pool=app_pool, tenant_id=tenant_id, entity="ar_customer")
    with pytest.raises(NotFound, match=f"tenant {tenant_id} has no record with Zoho id 42"):
        await audit.trail(pool=app_pool, tenant_id=tenant_id, zoho_id="42")
    with pytest.raises(NotFound, match=f"no audit events for tenant {tenant_id}, ar_customer X"):
        await audit.trail(pool=app_pool, tenant_id=tenant_id, entity="ar_customer", key="X")
    assert await audit.failures(pool=app_pool, tenant_id=tenant_id) == []


async def test_status_joins_each_services_view_of_a_tenant(
    app_pool: asyncpg.Pool, keyring: KeyRing, kafka_bootstrap: str, tenant_id: str
) -> None:
    await add_tenant(app_pool, keyring=keyring, tenant=a_tenant(tenant_id))
    await app_pool.execute(
        "INSERT INTO poller_watermarks (tenant_id, entity, stamp_date, stamp_hours)"
        " VALUES ($1, 'ar_customer', '20260102', 13.5)",
        tenant_id,
    )
    await app_pool.execute(
        "INSERT INTO poller_status (tenant_id, entity, consecutive_failures, last_error)"
        " VALUES ($1, 'ap_vendor', 2, 'agent unreachable')",
        tenant_id,
    )
    await app_pool.execute(
        "INSERT INTO audit_records (tenant_id, entity, source_key) VALUES ($1, 'ar_customer', 'K')",
        tenant_id,
    )
    found = await status.status(
        pool=app_pool, keyring=keyring, http=None, kafka_bootstrap=kafka_bootstrap,
        tenant_id=tenant_id,
    )  # fmt: skip
    rows = {r.entity: r for r in found.entities}
    assert rows["ar_customer"].watermark == "20260102 13.5000h"
    assert rows["ar_customer"].waiting == 1 and rows["ar_customer"].poll_failures == 0
    assert rows["ap_vendor"].last_poll is None and rows["ap_vendor"].poll_failures == 2
    assert found.zoho_credits_left == {} and found.zoho_holds == {}  # no call, nothing stored
    assert set(found.events_waiting) == set(status.GROUPS)

    await app_pool.execute(
        "INSERT INTO writer_tenant_state (tenant_id, paused_until, pause_reason,"
        " credits_remaining, credits_seen_at) VALUES ($1, now() + interval '1 hour', 'credits',"
        " 77, now())",
        tenant_id,
    )
    found = await status.status(
        pool=app_pool, keyring=keyring, http=None, kafka_bootstrap=kafka_bootstrap,
        tenant_id=tenant_id,
    )  # fmt: skip
    assert found.zoho_credits_left[tenant_id].startswith("77 (as of ")
    assert found.zoho_holds[tenant_id].startswith("paused until ")
    assert found.as_json()["entities"][0]["tenant"] == tenant_id

    # A fault's pause is over, its circuit still open: the reason and the error stay shown.
    await app_pool.execute(
        "UPDATE writer_tenant_state SET paused_until = now() - interval '1 second',"
        " pause_reason = 'Zoho answered malformed', circuit_open = true,"
        " pause_detail = 'ZohoError: Zoho write answered 200 without one result per record'"
        " WHERE tenant_id = $1",
        tenant_id,
    )
    found = await status.status(
        pool=app_pool, keyring=keyring, http=None, kafka_bootstrap=kafka_bootstrap,
        tenant_id=tenant_id,
    )  # fmt: skip
    assert found.zoho_holds[tenant_id] == (
        "parked until a retry goes through: Zoho answered malformed:"
        " ZohoError: Zoho write answered 200 without one result per record"
    )


async def test_the_writers_token_is_read_with_the_shared_context(
    app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    await add_tenant(app_pool, keyring=keyring, tenant=a_tenant(tenant_id))
    expires = datetime.now(UTC) + timedelta(hours=1)
    await app_pool.execute(
        "INSERT INTO zoho_tokens (tenant_id, access_token, api_domain, expires_at, refresh_at)"
        " VALUES ($1, $2, 'https://www.zohoapis.eu', $3, $3)",
        tenant_id,
        keyring.encrypt(b"live", aad=access_token_context(tenant_id)),
        expires,
    )
    token = await cached_token(app_pool, keyring=keyring, tenant_id=tenant_id)
    assert token is not None and token.value == "live"


async def test_mapping_changes_check_the_file_and_the_tenant(
    app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    with pytest.raises(tenants.MapFileError):
        await tenants.set_mapping(
            pool=app_pool, keyring=keyring, tenant_id=tenant_id, source_yaml="entities: 3\n"
        )
    with pytest.raises(TenantNotFound):
        await tenants.set_mapping(
            pool=app_pool, keyring=keyring, tenant_id=tenant_id, source_yaml=""
        )
    await add_tenant(app_pool, keyring=keyring, tenant=a_tenant(tenant_id))
    revision = await tenants.set_mapping(
        pool=app_pool, keyring=keyring, tenant_id=tenant_id, source_yaml=""
    )
    stored = await tenants.mapping(pool=app_pool, tenant_id=tenant_id)
    assert stored is not None and stored.revision == revision
    assert await tenants.remove_mapping(pool=app_pool, tenant_id=tenant_id)
    assert await tenants.mapping(pool=app_pool, tenant_id=tenant_id) is None
