"""Each tenant's drain on its own (drains.py), on real PostgreSQL and Kafka with the Zoho
emulator over HTTP: a slow org's drain does not hold another tenant's parked commands, and a
tenant with a backlog drains it batch after batch in one turn, not one batch per tick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from mlc_core.contracts import Envelope, OutcomeStatus
from mlc_core.crypto import KeyRing
from zoho_writer.drains import Drains
from zoho_writer.handlers import DRAIN_BATCH
from zoho_writer.service import Origin, WriteCommand

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
V1 = "20261205 10.000000"


async def park(writer: Writer, tenant: str, count: int) -> None:
    commands: list[WriteCommand] = [
        command(key=f"01-{i:05d}", version=V1, tenant=tenant, Fax=V1) for i in range(count)
    ]
    origins = {c.event_id: Origin("mlc.zoho.commands", 0, i) for i, c in enumerate(commands)}
    await writer.deps.parking.park(commands, origins, reason="parked by the test", delay_seconds=0)


async def until(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_a_slow_orgs_drain_does_not_hold_another_tenants(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    ok = await new_tenant(app_pool, keyring, zoho, f"{tenant_id}ok")
    slow = await new_tenant(app_pool, keyring, zoho, f"{tenant_id}slow")
    await zoho.control("POST", "/_emulator/faults", org=slow, latency_ms=6000)
    await park(writer, slow, 20)
    stop = asyncio.Event()
    drains = Drains(writer.deps, stop=stop)
    try:
        assert slow in await drains.tick()  # the slow org's drain: its first call takes 6 s
        # Commands parked after that drain began: one pass of every tenant (drain_once)
        # would not look at them until the slow org's share ended.
        await park(writer, ok, 20)
        assert ok in await drains.tick()
        await until(
            lambda: _empty(writer, ok), within=30, what=f"{ok} waited for the slow org's drain"
        )
        # The other tenant is written while the slow org's drain is still on its first call.
        assert slow in drains.draining
        assert len(await zoho.records(ok)) == 20
    finally:
        stop.set()
        await drains.close()


async def test_a_backlog_drains_in_one_turn_and_a_tick_starts_no_second_drain(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    loading = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await park(writer, loading, 2 * DRAIN_BATCH + 500)
    stop = asyncio.Event()
    drains = Drains(writer.deps, stop=stop)
    try:
        assert loading in await drains.tick()
        assert loading not in await drains.tick()  # already draining: not started twice
        await until(lambda: _done(drains, loading), within=120, what="the drain did not end")
        assert await writer.deps.parking.count(loading) == 0  # three batches, one turn
        assert len(await zoho.records(loading)) == 2 * DRAIN_BATCH + 500
    finally:
        stop.set()
        await drains.close()


async def _empty(writer: Writer, tenant: str) -> bool:
    return await writer.deps.parking.count(tenant) == 0


async def _done(drains: Drains, tenant: str) -> bool:
    return tenant not in drains.draining


async def test_new_commands_of_a_tenant_this_replica_drains_join_the_drain_at_once(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """While this replica drains a backlog of the tenant, a consumed batch's share of it is
    parked with no Zoho call and no batch wait (it would only queue behind the drain)."""
    loading = await new_tenant(app_pool, keyring, zoho, tenant_id, edition="free")
    await zoho.control("POST", "/_emulator/faults", org=loading, latency_ms=400)
    await park(writer, loading, 2 * DRAIN_BATCH)
    stop = asyncio.Event()
    drains = Drains(writer.deps, stop=stop)
    newer = "20261205 11.000000"
    try:
        assert loading in await drains.tick()
        await until(lambda: _draining(writer, loading), within=30, what="the drain did not start")
        batch: list[Envelope] = [
            command(key=f"02-{i:05d}", version=newer, tenant=loading, Fax=newer) for i in range(150)
        ]
        await writer.handle(batch)
        handed = [
            o
            for o in writer.publisher.outcomes(loading, OutcomeStatus.DEFERRED)
            if o.source_version == newer
        ]
        assert len(handed) == 150
        assert all("earlier commands" in (o.error_message or "") for o in handed)
        await until(lambda: _done(drains, loading), within=120, what="the drain did not end")
        if await writer.deps.parking.count(loading):  # parked after the turn began: next tick
            await drains.tick()
            await until(lambda: _done(drains, loading), within=120, what="the drain did not end")
        assert len(await zoho.records(loading)) == 2 * DRAIN_BATCH + 150
    finally:
        stop.set()
        await drains.close()


async def _draining(writer: Writer, tenant: str) -> bool:
    return tenant in writer.deps.draining
