"""Commands that wait instead of failing, on real PostgreSQL and Kafka with the Zoho emulator:
a tenant whose refresh token is revoked waits in a "reconnect Zoho" state until `mlc zoho
connect` stores a new one; deletes wait out a 429 or exhausted credits like upserts do."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from dataclasses import replace

import asyncpg
import pytest
from mlc_core.contracts import OutcomeStatus, ZohoDeleteCommand
from mlc_core.crypto import KeyRing
from mlc_core.tenants import open_secrets
from mlc_devtools.devstack import script
from mlc_devtools.emulated import DEMO_CLIENT_ID
from zoho_writer.tokens import TokenProvider

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
V1, V2, GONE = "20261126 10.000000", "20261126 11.000000", "20261126 12.000000~deleted"


def accounts(tenant: str, count: int, version: str = V1, **fields: str) -> list:
    return [
        command(key=f"01-{i:05d}", version=version, tenant=tenant, **fields) for i in range(count)
    ]


def gone(tenant: str, key: str, mode: str = "delete", version: str = GONE) -> ZohoDeleteCommand:
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


async def revoke(zoho: Emulator, pool: asyncpg.Pool, keyring: KeyRing, tenant: str) -> None:
    row = await pool.fetchrow("SELECT secrets FROM tenants WHERE tenant_id = $1", tenant)
    assert row is not None
    token = open_secrets(keyring, tenant, row["secrets"]).zoho_refresh_token.get_secret_value()
    answer = await zoho.http.post("/accounts/us/oauth/v2/token/revoke", params={"token": token})
    assert answer.json() == {"status": "success"}


async def mlc_zoho_connect(zoho: Emulator, tenant: str, app_dsn: str, master_keys: str) -> str:
    """`mlc zoho connect <tenant> --self-client` as an operator runs it, with a fresh code."""
    minted = await zoho.control(
        "POST", f"/_emulator/orgs/{tenant}/grant-codes", client_id=DEMO_CLIENT_ID
    )
    env = {
        "MLC_DATABASE_URL": app_dsn,
        "MLC_MASTER_KEYS": master_keys,
        "MLC_ZOHO_GRANT_CODE": minted["code"],
        "PATH": "/usr/bin:/bin",
        "MLC_ZOHO_ALLOWED_HOSTS": "127.0.0.1",  # the emulator
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [script("mlc"), "zoho", "connect", tenant, "--self-client"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_revoked_refresh_token_parks_the_tenant_until_it_reconnects(
    writer: Writer,
    zoho: Emulator,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    app_dsn: str,
    master_keys: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    other = await new_tenant(app_pool, keyring, zoho, f"{tenant_id}o")
    await writer.handle(accounts(tenant, 2))  # a cached access token, as in steady state
    await revoke(zoho, app_pool, keyring, tenant)  # revokes its access tokens too
    with caplog.at_level(logging.ERROR, logger="zoho_writer"):
        await writer.handle(
            [
                *accounts(tenant, 5, V2, Fax="555-0100"),
                gone(tenant, "01-00001"),
                *accounts(other, 5, V2),
            ]
        )
        await writer.handle(accounts(tenant, 8, V2, Fax="555-0100")[5:], partition=1)
        assert await writer.drain_once() == 0  # still the revoked token: nothing is tried
    assert len(await zoho.records(other)) == 5  # other tenants are not held up
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    assert not writer.publisher.letters(tenant)
    held = writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)
    assert len(held) == 9  # 8 upserts and the delete
    for outcome in held:
        for part in (tenant, "revoked", f"`mlc zoho connect {tenant}`"):
            assert part in (outcome.error_message or ""), outcome.error_message
    [error] = [r for r in caplog.records if "mlc zoho connect" in r.getMessage()]
    assert tenant in error.getMessage() and error.levelno == logging.ERROR
    assert await writer.deps.parking.count(tenant) == 9
    calls = (await zoho.stats(tenant))["calls"]["total"]

    printed = await mlc_zoho_connect(zoho, tenant, app_dsn, master_keys)
    assert f"tenant {tenant}: Zoho connected" in printed
    await writer.drain_until_empty(tenant)
    records = {r["Sage_Customer_No"]: r for r in await zoho.records(tenant)}
    assert set(records) == {f"01-{i:05d}" for i in range(8)} - {"01-00001"}
    assert all(r["Fax"] == "555-0100" for r in records.values())
    assert (await zoho.stats(tenant))["calls"]["total"] > calls
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    state = await app_pool.fetchval(
        "SELECT reconnect_since FROM writer_tenant_state WHERE tenant_id = $1", tenant
    )
    assert state is None


@pytest.mark.parametrize("limit", ["429", "credits"])
async def test_deletes_wait_out_a_429_or_exhausted_credits(
    limit: str, writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing,
    tenant_id: str,
) -> None:  # fmt: skip
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(tenant, 4))
    if limit == "429":
        await zoho.control("POST", "/_emulator/faults", org=tenant, status=429, calls=3)
    else:
        used = (await zoho.control("GET", f"/_emulator/orgs/{tenant}/stats"))["limits"]
        await zoho.control(
            "POST", f"/_emulator/orgs/{tenant}/settings", credits_per_day=used["credits_used_24h"]
        )
    await writer.handle(
        [gone(tenant, "01-00000", "deactivate"), gone(tenant, "01-00001"), gone(tenant, "01-00002")]
    )
    held = writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)
    assert len(held) == 3 and all("paused" in (h.error_message or "") for h in held)
    reason = await app_pool.fetchval(
        "SELECT pause_reason FROM writer_tenant_state WHERE tenant_id = $1", tenant
    )
    assert reason == ("Zoho answered 429" if limit == "429" else "API credits exhausted (429)")
    assert len(await zoho.records(tenant)) == 4  # nothing deleted yet
    if limit == "credits":
        await zoho.control("POST", f"/_emulator/orgs/{tenant}/settings", credits_per_day=1000)
    await writer.drain_until_empty(tenant)
    by_key = {r["Sage_Customer_No"]: r for r in await zoho.records(tenant)}
    assert set(by_key) == {"01-00000", "01-00003"}
    assert by_key["01-00000"]["Account_Type"] == "Inactive"
    done = writer.publisher.outcomes(tenant, OutcomeStatus.SUCCEEDED)
    assert {o.external_value for o in done} >= {"01-00000", "01-00001", "01-00002"}
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    assert not writer.publisher.letters(tenant)


async def test_the_refresh_budget_pauses_the_tenant_before_zoho_would_refuse(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    tokens = TokenProvider(
        pool=writer.deps.pool, keyring=keyring, http=writer.deps.http, refresh_budget=2
    )
    budgeted = Writer(replace(writer.deps, tokens=tokens), writer.publisher)
    await budgeted.handle(accounts(tenant, 3))  # refresh 1
    await zoho.control("POST", f"/_emulator/orgs/{tenant}/expire-tokens")
    await budgeted.handle(accounts(tenant, 3, V2, Fax="555-0102"))  # refresh 2 after the 401
    await zoho.control("POST", f"/_emulator/orgs/{tenant}/expire-tokens")
    v3 = "20261126 13.000000"
    await budgeted.handle(accounts(tenant, 3, v3, Fax="555-0103"))  # a third would exceed it
    stats = await zoho.stats(tenant)
    assert stats["token_refreshes"] == 2 and stats["refreshes_throttled"] == 0
    held = writer.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)
    assert len(held) == 3 and all("paused" in (h.error_message or "") for h in held)
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    await app_pool.execute(  # ten minutes later: the budget's window has moved on
        "UPDATE zoho_tokens SET recent_refreshes = '{}' WHERE tenant_id = $1", tenant
    )
    await budgeted.drain_until_empty(tenant)
    records = await zoho.records(tenant)
    assert len(records) == 3 and all(r["$write_count"] == 3 for r in records)
