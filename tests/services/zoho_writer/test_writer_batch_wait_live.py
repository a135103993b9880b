"""The consumer waits on one tenant's share of a batch for the batch wait only
(docs/failure-costs.md, zoho-writer), on real PostgreSQL and Kafka with the Zoho emulator over
HTTP: a slow org is paused with its circuit open and costs the others one bounded wait; a busy
but healthy org is not paused, the rest of its share is continued by the drain, in order; time
a share spends on the machine (PostgreSQL, the event loop), not on its org, is not counted."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time

import asyncpg
import pytest
from mlc_core.contracts import Envelope, OutcomeStatus
from mlc_core.crypto import KeyRing
from zoho_writer.admin import zoho_holds
from zoho_writer.deps import RetryPolicy

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
V1, V2 = "20261126 10.000000", "20261126 11.000000"


def accounts(tenant: str, count: int, version: str = V1, first: int = 0) -> list[Envelope]:
    """Accounts `first`..; each version has its own content (Fax), so each is written."""
    return [
        command(key=f"01-{i:05d}", version=version, tenant=tenant, Fax=version)
        for i in range(first, first + count)
    ]


def waiting(writer: Writer, *, wait: float, call: float = 3.0) -> Writer:
    """The writer with a short batch wait and call bound; the drain keeps its long deadline."""
    policy = dataclasses.replace(
        writer.deps.policy,
        call_timeout_seconds=call,
        batch_wait_seconds=wait,
        share_deadline_seconds=120.0,
    )
    return Writer(dataclasses.replace(writer.deps, policy=policy), writer.publisher)


async def calls(zoho: Emulator, tenant: str) -> int:
    return int((await zoho.stats(tenant))["calls"]["total"])


async def test_a_slow_org_costs_the_others_one_batch_wait_then_nothing(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    ok = await new_tenant(app_pool, keyring, zoho, f"{tenant_id}ok")
    slow = await new_tenant(app_pool, keyring, zoho, f"{tenant_id}slow")
    await zoho.control("POST", "/_emulator/faults", org=slow, latency_ms=8000)
    bounded = waiting(writer, wait=1.5)
    started = time.monotonic()
    await bounded.handle(accounts(ok, 300) + accounts(slow, 300))
    assert time.monotonic() - started < 1.5 + 2.0  # the wait, plus parking and publishing
    assert len(await zoho.records(ok)) == 300
    [hold] = await zoho_holds(app_pool, tenant_id=slow)
    assert hold.pause_reason == "Zoho too slow (batch deadline)" and hold.circuit_open
    assert await writer.deps.parking.count(slow) == 300
    probes = await calls(zoho, slow)
    started = time.monotonic()
    await bounded.handle(accounts(ok, 300, V2) + accounts(slow, 300, V2))
    assert time.monotonic() - started < 1.5  # circuit open: parked without a call
    assert await calls(zoho, slow) == probes
    assert len(writer.publisher.outcomes(ok, OutcomeStatus.SUCCEEDED)) == 600
    await zoho.control("DELETE", f"/_emulator/faults?org={slow}")
    await bounded.drain_until_empty(slow, within=90)
    records = await zoho.records(slow)
    assert len(records) == 300 and {r["Fax"] for r in records} == {V2}
    assert not writer.publisher.outcomes(slow, OutcomeStatus.FAILED)


async def test_an_org_failing_its_calls_past_the_wait_is_paused_as_down_not_slow(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """Zoho answering 503 (slowly) while the quick retries run past the batch wait: the share
    is cut at the wait, and the pause names the 503, which is what an operator must act on."""
    down = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await zoho.control("POST", "/_emulator/faults", org=down, status=503, latency_ms=400)
    retrying = dataclasses.replace(writer.deps, retry=RetryPolicy(attempts=4))
    bounded = waiting(Writer(retrying, writer.publisher), wait=0.6)
    await bounded.handle(accounts(down, 5))
    [hold] = await zoho_holds(app_pool, tenant_id=down)
    assert hold.pause_reason == "Zoho unavailable (5xx, timeouts)" and hold.circuit_open
    assert "503" in (hold.pause_detail or "") and "0.6 s" in (hold.pause_detail or "")
    deferred = writer.publisher.outcomes(down, OutcomeStatus.DEFERRED)
    assert len(deferred) == 5
    assert all("Zoho unavailable" in (d.error_message or "") for d in deferred)
    assert await writer.deps.parking.count(down) == 5


async def test_a_share_queued_behind_the_tenants_own_calls_is_busy_not_slow(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """Every one of the tenant's slots taken by its own calls (its drain, say) past the wait:
    Zoho was never asked, so nothing says it is slow; the share goes to the drain, unpaused."""
    busy = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(busy, 1))  # the tenant's gate exists once it has written
    bounded = waiting(writer, wait=0.5)
    _, gate = writer.deps.limiter._gates[busy]
    taken = [await gate.acquire() for _ in range(gate.size)]
    try:
        await bounded.handle(accounts(busy, 50, V2))
    finally:
        for _ in taken:
            gate.release()
    assert not await zoho_holds(app_pool, tenant_id=busy)
    assert await writer.deps.parking.count(busy) == 50
    deferred = writer.publisher.outcomes(busy, OutcomeStatus.DEFERRED)
    assert len(deferred) == 50
    assert all("continued by the drain" in (d.error_message or "") for d in deferred)
    await bounded.drain_until_empty(busy, within=60)
    assert {r["Fax"] for r in await zoho.records(busy)} == {V2}


async def test_a_busy_org_is_not_paused_and_the_drain_continues_it_in_order(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """A Free org (5 calls at a time) answering in 0.6 s: 2,500 records are 5 rounds of
    calls, past a 2 s wait, while the first round's answers show the org is healthy."""
    busy = await new_tenant(app_pool, keyring, zoho, tenant_id, edition="free")
    await zoho.control("POST", "/_emulator/faults", org=busy, latency_ms=600)
    bounded = waiting(writer, wait=2.0)
    started = time.monotonic()
    await bounded.handle(accounts(busy, 2500))
    assert time.monotonic() - started < 2.0 + 2.0
    assert not await zoho_holds(app_pool, tenant_id=busy)  # neither paused nor circuit open
    left = await writer.deps.parking.count(busy)
    assert 0 < left < 2500
    deferred = writer.publisher.outcomes(busy, OutcomeStatus.DEFERRED)
    assert len(deferred) == left
    assert all("continued by the drain" in (d.error_message or "") for d in deferred)

    # Newer versions of every record: those with a parked older version wait behind it.
    parked = {d.external_value for d in deferred}
    await bounded.handle(accounts(busy, 2500, V2))
    behind = {
        d.external_value
        for d in writer.publisher.outcomes(busy, OutcomeStatus.DEFERRED)
        if d.source_version == V2 and "older version" in (d.error_message or "")
    }
    assert behind == parked
    await bounded.drain_until_empty(busy, within=120)
    records = await zoho.records(busy)
    assert len(records) == 2500 and {r["Fax"] for r in records} == {V2}  # never the older
    assert not writer.publisher.outcomes(busy, OutcomeStatus.FAILED)
    assert not await zoho_holds(app_pool, tenant_id=busy)
    # A version is written once: a call cancelled at a batch's wait and also applied by Zoho
    # is the one exception (an idempotent repeat on the external key).
    in_flight = 5 * 100  # the calls a Free org has in flight at a wait, of 100 records each
    assert sum(r["$write_count"] for r in records) <= 2 * 2500 + 2 * in_flight
    assert max(r["$write_count"] for r in records) <= 3


async def test_a_share_slowed_by_the_machine_not_its_org_is_written_not_cut(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """PostgreSQL holding the share's queries past the batch wait (a loaded machine, which every
    share of the batch waits on alike) says nothing of the tenant's org: the share is written
    by the consumer, neither cut to the drain nor paused as too slow."""
    healthy = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(healthy, 1))  # token, edition and fields known: one call left
    bounded = waiting(writer, wait=1.0)
    async with app_pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE writer_versions IN ACCESS EXCLUSIVE MODE")
        handling = asyncio.create_task(bounded.handle(accounts(healthy, 20, V2)))
        await asyncio.sleep(2.5)
        assert not handling.done()  # its triage waits on the lock, past the wait
    await handling
    assert not await zoho_holds(app_pool, tenant_id=healthy)
    assert await writer.deps.parking.count(healthy) == 0
    assert not writer.publisher.outcomes(healthy, OutcomeStatus.DEFERRED)
    records = await zoho.records(healthy)
    assert len(records) == 20 and {r["Fax"] for r in records} == {V2}


async def test_a_drain_pass_past_the_share_deadline_names_its_time_on_the_org(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """The drain has no batch wait, only the share deadline on its whole time: cut there, the
    pause says how much of it the org took, so an operator can tell Zoho from this machine."""
    slow = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await zoho.control("POST", "/_emulator/faults", org=slow, latency_ms=8000)
    bounded = waiting(writer, wait=0.5)
    await bounded.handle(accounts(slow, 5))
    assert await writer.deps.parking.count(slow) == 5
    policy = dataclasses.replace(bounded.deps.policy, share_deadline_seconds=1.0)
    await Writer(dataclasses.replace(writer.deps, policy=policy), writer.publisher).drain_once()
    [hold] = await zoho_holds(app_pool, tenant_id=slow)
    detail = hold.pause_detail or ""
    assert "share of a drain pass took over 1 s" in detail, detail
    on_org = re.search(r"\((\d+\.\d) s on its org\)", detail)
    assert on_org is not None and 0 < float(on_org.group(1)) <= 1.5, detail  # its 8 s call
    assert await writer.deps.parking.count(slow) == 5
