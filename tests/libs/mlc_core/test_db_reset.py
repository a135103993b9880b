"""A pooled connection goes back to the pool without a reset round trip, unless it took
session state (a session advisory lock), which the reset then clears (real PostgreSQL)."""

from __future__ import annotations

import asyncpg
import pytest
from mlc_core.db import create_pool, took_session_state

pytestmark = pytest.mark.integration
LOCK = 7_210_777


async def last_query(admin: asyncpg.Connection, pid: int) -> str:
    return str(await admin.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid))


async def test_a_plain_statement_costs_one_round_trip(app_dsn: str) -> None:
    pool = await create_pool(app_dsn, max_size=1)
    admin = await asyncpg.connect(app_dsn)
    try:
        async with pool.acquire() as conn:
            pid = conn.get_server_pid()
        assert await pool.fetchval("SELECT 41 + 1") == 42
        # The backend's last statement is ours: no reset query ran after it.
        assert await last_query(admin, pid) == "SELECT 41 + 1"
    finally:
        await admin.close()
        await pool.close()


async def test_session_state_is_cleared_and_a_transaction_rolled_back(app_dsn: str) -> None:
    pool = await create_pool(app_dsn, max_size=1)
    other = await asyncpg.connect(app_dsn)
    try:
        async with pool.acquire() as conn:
            took_session_state(conn)
            assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        # Released without its unlock: the reset let the lock go.
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        assert await other.fetchval("SELECT pg_advisory_unlock($1)", LOCK)

        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await conn.execute("SET LOCAL statement_timeout = '1s'")
        # A transaction left open is rolled back on release, and SET LOCAL with it.
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SHOW statement_timeout") == "30s"
    finally:
        await other.close()
        await pool.close()
