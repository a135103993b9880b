"""A running sage-poller process follows MLC_MASTER_KEYS_FILE: a key added to the file is
picked up without a restart, and a tenant sealed with it is served."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import asyncpg
import pytest
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.tenants import add_tenant
from mlc_devtools.devstack import script

from tests.cli.test_keys_rotate import a_tenant, own_db
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.integration
__all__ = ["own_db"]


async def polled(pool: asyncpg.Pool, tenant_id: str, within: float) -> str | None:
    """The poller's status for the tenant (it polled, so it opened the tenant's secrets)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        row = await pool.fetchrow(
            "SELECT last_error FROM poller_status WHERE tenant_id = $1 LIMIT 1", tenant_id
        )
        if row is not None:
            return str(row["last_error"])
        await asyncio.sleep(0.5)
    return None


async def test_a_key_added_to_the_file_is_used_by_the_running_poller(
    own_db: tuple[str, asyncpg.Pool], tenant_id: str, tmp_path: Path
) -> None:
    dsn, pool = own_db
    old, new = generate_key_text("k1"), generate_key_text("k2")
    keys = tmp_path / "master-keys"
    keys.write_text(old)
    keys.chmod(0o600)
    log = (tmp_path / "poller.log").open("wb")
    env = dict(os.environ) | {
        "MLC_DATABASE_URL": dsn,
        "MLC_MASTER_KEYS_FILE": str(keys),
        "MLC_TENANT_REFRESH_SECONDS": "1",
        "MLC_KAFKA_AUTO_CREATE_TOPICS": "true",
    }
    env.pop("MLC_MASTER_KEYS", None)
    poller = await asyncio.create_subprocess_exec(
        script("mlc-sage-poller"), env=env, stdout=log, stderr=log
    )
    try:
        await asyncio.sleep(3)  # started with k1 only
        keys.write_text(f"{new},{old}")  # rotation: the new key first, no restart
        tenant = a_tenant(tenant_id)
        tenant.config.sage.agent_url = f"https://127.0.0.1:{free_port()}"  # nothing listens
        await add_tenant(pool, keyring=KeyRing.parse(f"{new},{old}"), tenant=tenant)
        error = await polled(pool, tenant_id, within=60)
        assert error is not None, (tmp_path / "poller.log").read_text()[-3000:]
        assert "unreachable" in error  # it polled: it opened the secrets sealed under k2
    finally:
        poller.terminate()
        await asyncio.wait_for(poller.wait(), timeout=30)
        log.close()
