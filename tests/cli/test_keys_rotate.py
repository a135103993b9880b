"""`mlc keys rotate` on real PostgreSQL: every stored secret moves to the newest key."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from mlc_cli.keys_cmd import SEALED
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool, migrate
from mlc_core.tenants import (
    SageConfig,
    Tenant,
    TenantConfig,
    TenantSecrets,
    ZohoConfig,
    add_tenant,
    load_tenant,
)
from pydantic import SecretStr

from tests.cli.emulator_fixtures import mlc
from tests.infra import ADMIN_URL, with_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def own_db() -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """Rotation re-keys every row of a database: it gets one of its own."""
    name = f"mlc_rotate_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    await migrate(with_database(ADMIN_URL, name))
    dsn = with_database(ADMIN_URL, name, user="mlc_app")
    pool = await create_pool(dsn)
    yield dsn, pool
    await pool.close()
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def a_tenant(tenant_id: str) -> Tenant:
    return Tenant(
        tenant_id=tenant_id,
        display_name=tenant_id,
        config=TenantConfig(
            sage=SageConfig(company_code="ABC", agent_url="https://agent"),
            zoho=ZohoConfig(accounts_url="https://accounts.zoho.com", client_id="1000.X"),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr("agent-" + tenant_id),
            zoho_client_secret=SecretStr("client-" + tenant_id),
            zoho_refresh_token=SecretStr("refresh-" + tenant_id),
            sage_password=SecretStr("password-" + tenant_id),
        ),
    )


async def store_access_token(pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str) -> None:
    aad = f"tenant:{tenant_id}:zoho-access-token"
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO zoho_tokens (tenant_id, access_token, api_domain, expires_at, refresh_at)"
        " VALUES ($1, $2, 'https://www.zohoapis.com', $3, $3)",
        tenant_id,
        keyring.encrypt(f"access-{tenant_id}".encode(), aad=aad),
        now + timedelta(hours=1),
    )


async def key_ids(pool: asyncpg.Pool, tenant_ids: list[str]) -> set[str]:
    ids = set()
    for sealed in SEALED:
        rows = await pool.fetch(
            f"SELECT {sealed.column} AS v FROM {sealed.table}"
            f" WHERE {sealed.key_column} = ANY($1::text[])",
            tenant_ids,
        )
        ids |= {KeyRing.key_id_of(r["v"]) for r in rows}
    return ids


async def test_rotate_moves_every_secret_to_the_newest_key(
    own_db: tuple[str, asyncpg.Pool],
    tenant_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app_dsn, app_pool = own_db
    old_text, new_text = generate_key_text("old"), generate_key_text("new")
    old = KeyRing.parse(old_text)
    tenants = [f"{tenant_id}{i}" for i in range(3)]
    for t in tenants:
        await add_tenant(app_pool, keyring=old, tenant=a_tenant(t))
        await store_access_token(app_pool, old, t)
    assert await key_ids(app_pool, tenants) == {"old"}

    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", f"{new_text},{old_text}")
    with pytest.raises(SystemExit, match=r"key old is still used by \d+ row\(s\) of tenants"):
        await mlc("keys", "retire", "old")  # not before the rotation
    await mlc("keys", "rotate", "--json")
    first = json.loads(capsys.readouterr().out)
    assert first["key_id"] == "new"
    assert first["columns"]["tenants.secrets"]["rotated"] >= 3
    assert await key_ids(app_pool, tenants) == {"new"}
    await mlc("keys", "retire", "old")
    assert "no stored secret uses key old" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="active"):
        await mlc("keys", "retire", "new")

    only_new = KeyRing.parse(new_text)  # the old keys can now be dropped
    for t in tenants:
        tenant = await load_tenant(app_pool, keyring=only_new, tenant_id=t)
        assert tenant.secrets.plain() == a_tenant(t).secrets.plain()
        blob = await app_pool.fetchval("SELECT access_token FROM zoho_tokens WHERE tenant_id=$1", t)
        aad = f"tenant:{t}:zoho-access-token"
        assert only_new.decrypt(blob, aad=aad) == f"access-{t}".encode()

    await mlc("keys", "rotate", "--json")
    second = json.loads(capsys.readouterr().out)
    assert all("rotated" not in counts for counts in second["columns"].values())


async def test_rotate_without_the_old_key_fails_and_changes_nothing(
    own_db: tuple[str, asyncpg.Pool], tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_dsn, app_pool = own_db
    old = KeyRing.parse(generate_key_text("gone"))
    await add_tenant(app_pool, keyring=old, tenant=a_tenant(tenant_id))
    before = await app_pool.fetchval("SELECT secrets FROM tenants WHERE tenant_id=$1", tenant_id)
    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", generate_key_text("other"))
    with pytest.raises(SystemExit, match=r"nothing rotated.*unknown key id"):
        await mlc("keys", "rotate")
    after = await app_pool.fetchval("SELECT secrets FROM tenants WHERE tenant_id=$1", tenant_id)
    assert after == before
