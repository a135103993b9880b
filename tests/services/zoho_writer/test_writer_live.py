"""The writer against the Zoho emulator over HTTP, on real PostgreSQL and Kafka: tokens,
data centres, limits, per-record failures, parents, editions. Every record ends correct in
Zoho and none is written twice."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import pytest
from mlc_core.contracts import OutcomeStatus, ZohoDeleteCommand, ZohoLookup
from mlc_core.crypto import KeyRing
from mlc_core.tenants import open_secrets
from mlc_devtools.emulated import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

from tests.factories import command
from tests.services.zoho_writer.live import (
    Emulator,
    Writer,
    emulator_url,
    new_tenant,
    writer,
    writers,
    zoho,
)

pytestmark = pytest.mark.integration
__all__ = ["emulator_url", "writer", "writers", "zoho"]


def accounts(tenant: str, count: int, version: str = "20261126 10.000000", **fields: Any) -> list:
    return [
        command(key=f"01-{i:05d}", version=version, tenant=tenant, **fields) for i in range(count)
    ]


async def assert_written_once(zoho: Emulator, tenant: str, count: int, **expected: Any) -> None:
    records = await zoho.records(tenant)
    keys = [r["Sage_Customer_No"] for r in records]
    assert len(keys) == count == len(set(keys)), "every record once"
    for record in records:
        for name, value in expected.items():
            assert record[name] == value, (record["Sage_Customer_No"], name)


async def test_token_expiry_mid_batch_refreshes_once_and_loses_nothing(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(tenant, 10))  # a token in PostgreSQL, as in steady state
    await zoho.control("POST", "/_emulator/faults", org=tenant, latency_ms=300, seconds=30)
    batch = asyncio.create_task(writer.handle(accounts(tenant, 1000, "20261126 11.000000")))
    await asyncio.sleep(0.1)  # the first calls are in flight with the old token
    storm = await zoho.control("POST", f"/_emulator/orgs/{tenant}/expire-tokens")
    await batch
    assert storm["expired"] >= 1
    stats = await zoho.stats(tenant)
    assert stats["token_refreshes"] == 2  # the first token, then exactly one after the storm
    assert stats["refreshes_throttled"] == 0
    await assert_written_once(zoho, tenant, 1000)
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)


async def test_four_replicas_share_one_token_and_never_hit_the_refresh_throttle(
    writers: list[Writer], zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    for round_ in range(6):  # 6 storms: each replica sees its token rejected every round
        await zoho.control("POST", f"/_emulator/orgs/{tenant}/expire-tokens")
        version = f"20261126 {12 + round_:02d}.000000"
        await asyncio.gather(
            *(
                w.handle(
                    [
                        command(key=f"R{n}-{i}", version=version, tenant=tenant, Fax=version)
                        for i in range(30)
                    ]
                )
                for n, w in enumerate(writers)
            )
        )
    stats = await zoho.stats(tenant)
    assert stats["refreshes_throttled"] == 0
    assert stats["token_refreshes"] <= 7  # one per storm (+ the first), never one per replica
    assert stats["live_access_tokens"] <= 15
    records = await zoho.records(tenant)
    assert len(records) == 120 and all(r["$write_count"] == 6 for r in records)


async def test_org_moved_to_eu_mid_run_is_followed(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(tenant, 50))
    await zoho.control("POST", f"/_emulator/orgs/{tenant}/move", dc="eu")
    await writer.handle(accounts(tenant, 80, "20261126 12.000000", Phone="555-0199"))
    domain = await app_pool.fetchval(
        "SELECT api_domain FROM zoho_tokens WHERE tenant_id = $1", tenant
    )
    assert domain.endswith("/api/eu")
    records = await zoho.records(tenant)
    assert len(records) == 80 and all(r["Phone"] == "555-0199" for r in records)
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)


async def test_429_storm_pauses_only_that_tenant_and_fails_nothing(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    hit = await new_tenant(app_pool, keyring, zoho, tenant_id)
    spared = await new_tenant(app_pool, keyring, zoho, f"{tenant_id}b")
    await zoho.control("POST", "/_emulator/faults", org=hit, status=429, calls=4)
    await writer.handle(accounts(hit, 450) + accounts(spared, 450))
    await assert_written_once(zoho, spared, 450)
    deferred = writer.publisher.outcomes(hit, OutcomeStatus.DEFERRED)
    assert deferred and all("paused" in (d.error_message or "") for d in deferred)
    reason = await app_pool.fetchval(
        "SELECT pause_reason FROM writer_tenant_state WHERE tenant_id = $1", hit
    )
    assert reason == "Zoho answered 429"
    await writer.drain_until_empty(hit)
    await assert_written_once(zoho, hit, 450)
    records = await zoho.records(hit)
    assert all(r["$write_count"] == 1 for r in records)
    assert not writer.publisher.outcomes(hit, OutcomeStatus.FAILED)
    assert not writer.publisher.letters(hit)


async def test_exhausted_credits_pause_and_resume_when_credits_return(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await zoho.control("POST", f"/_emulator/orgs/{tenant}/settings", credits_per_day=40)
    await writer.handle(accounts(tenant, 600))  # 60 credits wanted, 40 available
    remaining = await app_pool.fetchval(
        "SELECT credits_remaining FROM writer_tenant_state WHERE tenant_id = $1", tenant
    )
    assert remaining is not None and remaining <= 10  # tracked from X-API-CREDITS-REMAINING
    assert writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)
    await zoho.control("POST", f"/_emulator/orgs/{tenant}/settings", credits_per_day=1000)
    await writer.drain_until_empty(tenant)
    await assert_written_once(zoho, tenant, 600)
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)


async def test_5xx_is_retried_with_backoff_and_written_once(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await zoho.control("POST", "/_emulator/faults", org=tenant, status=503, calls=2)
    await writer.handle(accounts(tenant, 100))
    await assert_written_once(zoho, tenant, 100)
    assert (await zoho.stats(tenant))["faulted_calls"] == 2


async def test_mixed_per_record_failures_and_unchanged_records(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    batch = accounts(tenant, 20)
    batch[3] = command(key="01-00003", tenant=tenant, Account_Number="9" * 41)
    batch[7] = command(key="01-00007", tenant=tenant, Phone="not a phone")
    await writer.handle(batch)
    failed = writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    assert sorted((f.source_key, f.error_field) for f in failed) == [
        ("01-00003", "Account_Number"),
        ("01-00007", "Phone"),
    ]
    letters = {d.source_key: d for d in writer.publisher.letters(tenant)}
    assert letters["01-00007"].original_offset == 7 and letters["01-00007"].original_partition == 0
    await assert_written_once(zoho, tenant, 18)
    calls = (await zoho.stats(tenant))["calls"]["total"]
    await writer.handle(accounts(tenant, 20, "20261126 23.000000"))  # newer stamp, same content
    unchanged = writer.publisher.outcomes(tenant, OutcomeStatus.SKIPPED_UNCHANGED)
    assert len(unchanged) == 18
    assert (await zoho.stats(tenant))["calls"]["total"] == calls + 1  # only the 2 that failed


async def test_a_missing_parent_waits_then_the_child_is_written(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    lookup = ZohoLookup(
        path="Account_Name",
        module="Accounts",
        external_field="Sage_Customer_No",
        external_value="01-PARENT",
    )
    child = command(key="C-1", tenant=tenant).model_copy(
        update={
            "module": "Contacts",
            "external_field": "Email",
            "external_value": "ann@acme.test",
            "record": {"Last_Name": "Lee", "Email": "ann@acme.test"},
            "lookups": [lookup],
        }
    )
    await writer.handle([child])
    [waiting] = writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)
    assert "01-PARENT" in (waiting.error_message or "")
    await writer.handle([command(key="01-PARENT", tenant=tenant)], partition=1)
    await writer.drain_until_empty(tenant)
    [account] = await zoho.records(tenant)
    [contact] = await zoho.records(tenant, "Contacts")
    assert contact["Account_Name"]["id"] == account["id"]
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)


def contact_of(tenant: str, key: str, account: str) -> Any:
    lookup = ZohoLookup(
        path="Account_Name",
        module="Accounts",
        external_field="Sage_Customer_No",
        external_value=account,
    )
    email = f"{key.lower()}@acme.test"
    return command(key=key, tenant=tenant).model_copy(
        update={
            "module": "Contacts",
            "external_field": "Email",
            "external_value": email,
            "record": {"Last_Name": key, "Email": email},
            "lookups": [lookup],
        }
    )


async def test_contacts_ahead_of_their_accounts_cost_no_lookup(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """An initial load: a batch holds contacts ahead of their accounts. The accounts go in the
    first wave, the contacts in the second, one call each; contacts whose accounts are still
    on their way wait without a lookup (1,261 lookups once took a 1,500-record load 23 s)."""
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle([command(key="01-WARM", tenant=tenant)])  # token, edition: steady state
    before = (await zoho.stats(tenant))["calls"]["total"]
    contacts = [contact_of(tenant, f"C-{i}", f"01-{i // 2:05d}") for i in range(100)]
    await writer.handle(contacts + accounts(tenant, 40))  # accounts 40..49 not yet
    assert (await zoho.stats(tenant))["calls"]["total"] - before == 2
    assert len(await zoho.records(tenant, "Contacts")) == 80
    assert len(writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)) == 20
    await writer.handle([command(key=f"01-{i:05d}", tenant=tenant) for i in range(40, 50)], 1)
    await writer.drain_until_empty(tenant)
    assert (await zoho.stats(tenant))["calls"]["total"] - before == 4
    written = await zoho.records(tenant, "Contacts")
    ids = {r["Sage_Customer_No"]: r["id"] for r in await zoho.records(tenant)}
    assert len(written) == 100
    for record in written:
        parent = f"01-{int(record['Last_Name'][2:]) // 2:05d}"
        assert record["Account_Name"]["id"] == ids[parent], record["Last_Name"]


async def test_a_parent_only_zoho_knows_is_asked_for_once_the_child_has_waited(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """A parent written outside this product (or before its store was reset) is in Zoho but
    not in writer_versions: the child waits one retry delay, then the drain asks Zoho."""
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(tenant, 1))
    await app_pool.execute("DELETE FROM writer_versions WHERE tenant_id = $1", tenant)
    before = (await zoho.stats(tenant))["calls"]["by_module"]
    await writer.handle([contact_of(tenant, "C-1", "01-00000")])
    assert (await zoho.stats(tenant))["calls"]["by_module"] == before  # waits, asks nothing
    await writer.drain_until_empty(tenant)
    after = (await zoho.stats(tenant))["calls"]["by_module"]
    assert after["Accounts"] - before["Accounts"] == 1  # the lookup
    [account] = await zoho.records(tenant)
    [contact] = await zoho.records(tenant, "Contacts")
    assert contact["Account_Name"]["id"] == account["id"]


async def test_module_missing_from_the_edition_warns_once_and_stops_calling(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id, edition="free")

    def vendors(version: str) -> list:
        return [
            command(key=f"V{i}", version=version, tenant=tenant).model_copy(
                update={"module": "Vendors", "external_field": "Vendor_Name"}
            )
            for i in range(3)
        ]

    await writer.handle(vendors("1") + accounts(tenant, 2))
    calls = (await zoho.stats(tenant))["calls"]["total"]
    await writer.handle(vendors("2"))
    assert (await zoho.stats(tenant))["calls"]["total"] == calls  # no call for a known gap
    [warning] = writer.publisher.letters(tenant)
    for part in (tenant, "Vendors", "edition"):
        assert part in warning.error_message
    failed = writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    assert len(failed) == 6 and {f.error_code for f in failed} == {"MODULE_UNAVAILABLE"}
    await assert_written_once(zoho, tenant, 2)


def gone(tenant: str, key: str, mode: str, version: str) -> ZohoDeleteCommand:
    base = command(key=key, tenant=tenant)
    return ZohoDeleteCommand(
        tenant_id=tenant,
        correlation_id=base.correlation_id,
        entity=base.entity,
        source_key=key,
        module="Accounts",
        external_field="Sage_Customer_No",
        external_value=key,
        source_version=version,
        mode=mode,  # type: ignore[arg-type]
        deactivate={"Account_Type": "Inactive"} if mode == "deactivate" else {},
    )


async def test_records_gone_from_sage_are_deactivated_or_deleted(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(tenant, 3))
    later = "20261126 10.000000~deleted"
    await writer.handle(
        [
            gone(tenant, "01-00000", "deactivate", later),
            gone(tenant, "01-00001", "delete", later),
            gone(tenant, "01-NEVER", "delete", later),  # Zoho never had it: nothing to do
            gone(tenant, "01-00002", "delete", "20261125 10.000000~deleted"),  # came back since
        ]
    )
    by_key = {r["Sage_Customer_No"]: r for r in await zoho.records(tenant)}
    assert set(by_key) == {"01-00000", "01-00002"}
    assert by_key["01-00000"]["Account_Type"] == "Inactive"
    statuses = {o.external_value: o.status for o in writer.publisher.outcomes(tenant)}
    assert statuses["01-NEVER"] is OutcomeStatus.SUCCEEDED
    assert statuses["01-00002"] is OutcomeStatus.SKIPPED_STALE
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)


async def test_a_delete_waits_for_one_of_the_orgs_call_slots(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """Deletes call Zoho within the org's concurrency like upserts: with every slot of a Free
    org (5) taken, say by the tenant's drain, a delete waits instead of a sixth call."""
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id, edition="free")
    await writer.handle(accounts(tenant, 1))  # the writer learns the org's edition
    gate = writer.deps.limiter.gate(tenant, "free")
    async with contextlib.AsyncExitStack() as taken:
        for _ in range(5):
            await taken.enter_async_context(gate.calling())
        deleting = asyncio.create_task(
            writer.handle([gone(tenant, "01-00000", "delete", "20261126 10.000000~deleted")])
        )
        await asyncio.sleep(0.5)
        assert not deleting.done()
        assert [r["Sage_Customer_No"] for r in await zoho.records(tenant)] == ["01-00000"]
    await deleting
    assert await zoho.records(tenant) == []
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)


async def test_an_evicted_token_is_replaced_once(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(tenant, 5))  # the writer's token, cached in PostgreSQL
    row = await app_pool.fetchrow("SELECT secrets FROM tenants WHERE tenant_id = $1", tenant)
    assert row is not None
    refresh_token = open_secrets(keyring, tenant, row["secrets"]).zoho_refresh_token
    form = {
        "grant_type": "refresh_token",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "refresh_token": refresh_token.get_secret_value(),
    }
    for minted in range(15):  # someone else mints 15 tokens: Zoho keeps 15, the oldest goes
        if minted == 9:  # stay under 10 refreshes per 10 minutes
            await zoho.control("POST", "/_emulator/clock", advance_seconds=601)
        answer = await zoho.http.post("/accounts/us/oauth/v2/token", data=form)
        assert "access_token" in answer.json(), answer.text
    refreshes = (await zoho.stats(tenant))["token_refreshes"]
    await writer.handle(accounts(tenant, 5, "20261126 12.000000", Fax="555-0111"))
    stats = await zoho.stats(tenant)
    assert stats["token_refreshes"] == refreshes + 1 and stats["refreshes_throttled"] == 0
    records = await zoho.records(tenant)
    assert len(records) == 5 and all(r["Fax"] == "555-0111" for r in records)
