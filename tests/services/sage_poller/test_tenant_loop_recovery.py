"""A tenant's poll loop survives a PostgreSQL blip and a locked Sage by itself (issue 14).

The real TenantLoop under the real Supervisor, on the real PostgreSQL and Kafka, polling the
emulator through the agent over HTTP. Every connection of the poller's pool is killed by
PostgreSQL (`pg_terminate_backend`, what a failover or restart does to clients) and new ones
are refused for a while (its login role barred: a restart still in progress) while Sage
answers every read with a record lock: the pass crashes and is restarted, the locked polls are
parked with their reason in the entity's status and retried with growing backoff, and once
the locks clear every entity is polled with nobody stepping in.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool
from mlc_core.kafka import Publisher
from mlc_core.sage.agent import AgentConnections
from mlc_core.supervise import RestartBackoff, Supervisor
from sage_poller.deps import PollerDeps, PollOptions
from sage_poller.loops import TenantLoop
from sage_poller.outbox import OutboxRelay
from sage_poller.schedule import SchedulePolicy
from sage_poller.store import PollerStore
from sage_poller.sync import SyncStore

from tests.infra import ADMIN_URL, with_database
from tests.services.sage_agent.servers import SageSide
from tests.services.sage_poller.sage_harness import add_sage_tenant


@dataclass(frozen=True)
class PollerPool:
    """The poller's own pool, as the service builds it, under a login role of its own (a
    member of the application role), so PostgreSQL can refuse it alone."""

    pool: asyncpg.Pool
    role: str
    admin: asyncpg.Connection

    async def blip(self) -> int:
        """Bar new logins, then drop every connection: whether or not asyncpg has noticed the
        drop, the pool's next query fails (a dead connection, or a refused new one)."""
        await self.admin.execute(f"ALTER ROLE {self.role} NOLOGIN")
        killed: int = await self.admin.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE usename = $1",
            self.role,
        )
        return killed

    async def back(self) -> None:
        await self.admin.execute(f"ALTER ROLE {self.role} LOGIN")


@pytest.fixture
async def poller_pool(database: str) -> AsyncIterator[PollerPool]:
    role = f"mlc_blip_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(with_database(ADMIN_URL, database))
    await admin.execute(f"CREATE ROLE {role} LOGIN IN ROLE mlc_app")
    pool = await create_pool(with_database(ADMIN_URL, database, user=role), min_size=3, max_size=3)
    try:
        yield PollerPool(pool, role, admin)
    finally:
        pool.terminate()
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


async def statuses(pool: asyncpg.Pool, tenant_id: str) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch("SELECT * FROM poller_status WHERE tenant_id = $1", tenant_id)
    return {row["entity"]: row for row in rows}


async def until(check: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"not within {within} s: {what}")


@pytest.mark.parametrize("side", [{"lock_attempts": 1}], indirect=True)
async def test_the_loop_outlives_a_postgresql_blip_and_retries_locked_polls_itself(
    side: SageSide,
    poller_pool: PollerPool,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    publisher: Publisher,
) -> None:
    pool = poller_pool.pool
    tenant = await add_sage_tenant(app_pool, keyring, side)
    tenant_id = tenant.tenant_id
    with side.control() as control:
        control.post("/_emulator/boi/locks", json={"rate": 1.0})
    async with httpx.AsyncClient(timeout=30) as http:
        deps = PollerDeps(
            pool=pool,
            keyring=keyring,
            http=http,
            agents=AgentConnections(http),
            store=PollerStore(pool),
            publisher=publisher,
            outbox=OutboxRelay(pool, publisher),
            sync_store=SyncStore(pool),
            options=PollOptions(overlap_seconds=60, page_size=500, attempts=2),
        )
        policy = SchedulePolicy(every=3600, retry_base=0.5)
        loop = TenantLoop(tenant_id, deps=deps, policy=policy, idle_cap=0.5)
        stop = asyncio.Event()
        loops = Supervisor(stop=stop, backoff=RestartBackoff(base=0.2, cap=0.5))
        # The blip: PostgreSQL drops every connection the poller's pool holds, and refuses
        # new ones until `back()`.
        assert await poller_pool.blip() == 3
        loops.start("poll:" + tenant_id, loop.iteration, labels={"tenant": tenant_id})
        health = loops.health["poll:" + tenant_id]
        try:

            async def restarted() -> bool:
                return health.restarts >= 2  # crashed, restarted, crashed again: not given up

            await until(restarted, 60, "the supervisor restarting the crashed pass")
            await poller_pool.back()

            async def parked() -> bool:
                found = await statuses(app_pool, tenant_id)
                row = found.get(Entity.AR_CUSTOMER)
                return row is not None and row["consecutive_failures"] >= 2

            await until(parked, 90, "locked polls parked with their reason, retried")
            row = (await statuses(app_pool, tenant_id))[Entity.AR_CUSTOMER]
            assert "record/file busy" in row["last_error"]  # the reason, for `mlc status`
            # Retried by itself long before the next regular poll (an hour away here).
            assert loop.schedule.failures[Entity.AR_CUSTOMER] >= 1
            assert loop.schedule.next_poll[Entity.AR_CUSTOMER] - time.monotonic() < 60

            with side.control() as control:
                control.post("/_emulator/boi/locks", json={"rate": 0.0})

            async def recovered() -> bool:
                found = await statuses(app_pool, tenant_id)
                schedule = loop.schedule
                if schedule.failures or schedule.reconcile_failures:
                    return False  # a poll or reconciliation still waits for its retry
                return len(found) == len(Entity) and all(
                    r["consecutive_failures"] == 0 and r["last_success_at"] for r in found.values()
                )

            await until(recovered, 120, "every entity polled once the locks cleared")
            # Each poll's timing, for operators: its start, its length, how late it began
            # (the retries were scheduled, so each is late by something, maybe 0).
            for row in (await statuses(app_pool, tenant_id)).values():
                assert row["last_poll_started_at"] <= row["last_success_at"]
                assert row["last_poll_seconds"] >= 0 and row["last_poll_late_seconds"] >= 0
                assert 0 < row["last_poll_sage_seconds"] <= row["last_poll_seconds"]
        finally:
            stop.set()
            await asyncio.wait_for(loops.wait(), 30)
