"""`mlc sync` requests run by the poller (real PostgreSQL, Kafka, emulator and agent over HTTP):
poll now, full re-sync, one key through the agent or through SOAP, failures, the SOAP-only
tenant's message, and the CLI waiting for a request the poller completes."""

from __future__ import annotations

import argparse
import asyncio

import asyncpg
import pytest
from mlc_cli.sync_cmd import create_request, describe, request_row, wait_for
from mlc_core.contracts import DeadLetter, Entity
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.sage.agent import AgentConnections
from mlc_core.tenants import save_tenant
from pydantic import SecretStr
from sage_poller.deps import PollerDeps, PollOptions
from sage_poller.requests import SyncRunner, soap_only_cycle, soap_only_message
from sage_poller.schedule import Schedule, SchedulePolicy
from sage_poller.sync import SyncStore

from tests.cli.emulator_fixtures import mlc
from tests.services.sage_poller.sage_harness import Harness, changes

pytestmark = pytest.mark.integration
SOAP_PATH = "/ws/eBusinessWebServices.svc"


def runner(h: Harness) -> SyncRunner:
    deps = PollerDeps(
        pool=h.store.pool,
        keyring=KeyRing.parse(generate_key_text("t")),  # unused: requests get the tenant
        http=h.http,
        store=h.store,
        publisher=h.publisher,
        outbox=h.outbox,
        sync_store=SyncStore(h.store.pool),
        options=PollOptions(overlap_seconds=60, page_size=7, attempts=2),
        agents=AgentConnections(h.http),
    )
    return SyncRunner(deps=deps)


async def request(h: Harness, entity: Entity, mode: str, key: str | None = None) -> dict:
    request_id = await create_request(h.store.pool, h.tenant.tenant_id, entity, mode, key)
    await runner(h).run_pending(h.tenant)
    return await request_row(h.store.pool, request_id)


async def test_full_resync_re_emits_unchanged_records_under_new_ids(harness: Harness) -> None:
    await harness.poll(Entity.AP_VENDOR)
    first = {e.source_key: e.event_id for e in changes(harness.take())}
    watermark = await harness.store.watermark(harness.tenant.tenant_id, Entity.AP_VENDOR)
    await harness.poll(Entity.AP_VENDOR)
    assert changes(harness.take()) == []  # nothing changed: a plain poll emits nothing

    row = await request(harness, Entity.AP_VENDOR, "full")
    again = changes(harness.take())
    assert row["status"] == "done" and row["seen"] == row["emitted"] == len(first) > 0
    assert {e.source_key for e in again} == set(first)
    assert all(first[e.source_key] != e.event_id for e in again)  # the audit log keeps both
    assert await harness.store.watermark(harness.tenant.tenant_id, Entity.AP_VENDOR) == watermark
    assert row["finished_at"] >= row["started_at"]


async def test_poll_now_request_and_key_resync_through_the_agent(harness: Harness) -> None:
    row = await request(harness, Entity.GL_ACCOUNT, "poll")
    emitted = changes(harness.take())
    assert row["status"] == "done" and row["emitted"] == len(emitted) > 0
    key = emitted[2].source_key
    row = await request(harness, Entity.GL_ACCOUNT, "key", key)
    [event] = changes(harness.take())
    assert (row["status"], row["seen"], row["emitted"]) == ("done", 1, 1)
    assert event.source_key == key and event.event_id != emitted[2].event_id


async def test_missing_key_fails_with_a_clear_error_and_later_requests_still_run(
    harness: Harness,
) -> None:
    missing = await request(harness, Entity.AR_CUSTOMER, "key", "01-NOSUCH")
    assert missing["status"] == "failed" and "01-NOSUCH" in missing["error"]
    assert "key ar_customer" in missing["error"]
    ok = await request(harness, Entity.AR_CUSTOMER, "poll")
    assert ok["status"] == "done" and ok["emitted"] > 0


async def test_key_resync_reads_through_soap_when_configured(
    harness: Harness, app_pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    sage = harness.tenant.config.sage.model_copy(
        update={"soap_url": harness.side.emulator_url + SOAP_PATH, "username": "WEBSVC"}
    )
    config = harness.tenant.config.model_copy(update={"sage": sage})
    secrets = harness.tenant.secrets.model_copy(update={"sage_password": SecretStr("secret")})
    harness.tenant = harness.tenant.model_copy(update={"config": config, "secrets": secrets})
    await save_tenant(app_pool, keyring=keyring, tenant=harness.tenant)
    customer = harness.side.state.list_customers("ABC")[3]
    key = f"{customer['ARDivisionNo']}-{customer['CustomerNo']}"
    contact = f"{key}:{customer['ContactCode']}"
    harness.tenant.config.sage.agent_url = "http://127.0.0.1:9"  # SOAP must do it alone

    row = await request(harness, Entity.AR_CUSTOMER, "key", key)
    assert row["status"] == "done", row["error"]
    [event] = changes(harness.take())
    assert event.source_key == key and event.record["CustomerName"] == customer["CustomerName"]
    row = await request(harness, Entity.CUSTOMER_CONTACT, "key", contact)
    assert row["status"] == "done", row["error"]
    [event] = changes(harness.take())
    assert event.source_key == contact and event.record["PrimaryContact"] == "Y"


async def test_soap_only_tenant_gets_one_clear_message_per_cycle(harness: Harness) -> None:
    tenant = harness.tenant
    tenant.config.sage.agent_url = ""
    schedule = Schedule(SchedulePolicy(overrides={}, every=3600.0, reconcile_every=3600.0))
    await soap_only_cycle(tenant, schedule, harness.store)
    await soap_only_cycle(tenant, schedule, harness.store)  # same cycle: nothing new
    rows = await harness.store.pool.fetch(
        "SELECT entity, last_error, consecutive_failures FROM poller_status WHERE tenant_id = $1",
        tenant.tenant_id,
    )
    assert {r["entity"] for r in rows} == {str(e) for e in tenant.config.entities}
    assert all(r["consecutive_failures"] == 1 for r in rows)
    message = rows[0]["last_error"]
    assert message == soap_only_message(tenant)
    for words in ("no agent URL", "AP vendors", "GL accounts", "sales orders", "AR invoices"):
        assert words in message
    assert f"mlc sync {tenant.tenant_id} ar_customer --key" in message
    row = await request(harness, Entity.AP_VENDOR, "poll")  # a poll request says the same
    assert row["status"] == "failed" and "no agent URL" in row["error"]
    assert not [e for e in harness.take() if not isinstance(e, DeadLetter)]


async def test_cli_queues_waits_with_progress_and_refuses_disabled_tenants(
    harness: Harness,
    app_dsn: str,
    master_keys: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", master_keys)
    tenant_id = harness.tenant.tenant_id  # disabled (the harness drives its polls itself)
    with pytest.raises(SystemExit, match="disabled"):
        await mlc("sync", tenant_id, "ap_vendor", "--full")
    with pytest.raises(SystemExit, match="expected ARDivisionNo-CustomerNo"):
        await mlc("sync", tenant_id, "ar_customer", "--key", "ABF")

    pool = harness.store.pool
    request_id = await create_request(pool, tenant_id, Entity.AP_VENDOR, "full", None)

    async def poller_tick() -> None:
        await asyncio.sleep(0.3)  # the poller's next tick comes a little later
        await runner(harness).run_pending(harness.tenant)

    args = argparse.Namespace(json=False, timeout=60.0, interval=0.05)
    tick = asyncio.create_task(poller_tick())
    row = await wait_for(pool, request_id, args)
    await tick
    lines = capsys.readouterr().out.splitlines()
    assert "pending (waiting for the poller's next tick)" in lines[0]
    assert row["status"] == "done" and row["emitted"] == len(changes(harness.take())) > 0
    assert f"{row['emitted']} emitted in" in lines[-1] and "records/s" in lines[-1]
    assert describe(row) == lines[-1]
