"""Bounded database calls, on real PostgreSQL: a stuck statement fails instead of holding a
consumer's partitions, and a transaction left open gives its locks back."""

from __future__ import annotations

import asyncpg
import pytest
from mlc_core.db import create_pool


async def test_a_statement_past_the_pools_bound_is_cancelled(app_dsn: str) -> None:
    pool = await create_pool(app_dsn, statement_timeout_s=0.3)
    try:
        with pytest.raises(asyncpg.QueryCanceledError):
            await pool.execute("SELECT pg_sleep(5)")
        assert await pool.fetchval("SELECT 1") == 1  # the pool is still usable
    finally:
        await pool.close()


async def test_a_statement_waiting_on_a_lock_is_cancelled_too(app_dsn: str) -> None:
    holder = await asyncpg.connect(app_dsn)
    pool = await create_pool(app_dsn, statement_timeout_s=0.3)
    try:
        await holder.execute("BEGIN")
        await holder.execute("SELECT pg_advisory_xact_lock(4242)")
        with pytest.raises(asyncpg.QueryCanceledError):
            await pool.execute("SELECT pg_advisory_xact_lock(4242)")
    finally:
        await holder.close()
        await pool.close()


async def test_services_get_the_default_bounds(app_dsn: str) -> None:
    pool = await create_pool(app_dsn)
    try:
        assert await pool.fetchval("SHOW statement_timeout") == "30s"
        assert await pool.fetchval("SHOW idle_in_transaction_session_timeout") == "5min"
    finally:
        await pool.close()
