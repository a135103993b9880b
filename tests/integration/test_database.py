"""The schema's promises, on real PostgreSQL: migrations, the append-only audit log,
encrypted tenants."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from mlc_core.crypto import KeyRing
from mlc_core.db import migrate
from mlc_core.tenants import (
    SageConfig,
    Tenant,
    TenantConfig,
    TenantNotFound,
    TenantSecrets,
    ZohoConfig,
    add_tenant,
    load_tenant,
)
from pydantic import SecretStr


def make_tenant(tenant_id: str) -> Tenant:
    return Tenant(
        tenant_id=tenant_id,
        display_name="Acme",
        config=TenantConfig(
            sage=SageConfig(company_code="ABC", agent_url="https://agent.local"),
            zoho=ZohoConfig(accounts_url="https://accounts.zoho.eu", client_id="1000.X", dc="eu"),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr("agent-token-123456"),
            zoho_client_secret=SecretStr("client-secret-98765"),
            zoho_refresh_token=SecretStr("1000.refresh.abcdef"),
        ),
    )


async def test_migrations_are_idempotent(admin_dsn: str) -> None:
    assert await migrate(admin_dsn) == []


async def insert_audit_row(conn: asyncpg.Connection, event_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO audit_events (event_id, event_type, schema_version, topic, kafka_partition,"
        " kafka_offset, payload) VALUES ($1, 'x', 1, 't', 0, 0, '{}')",
        event_id,
    )


async def test_app_role_cannot_update_or_delete_audit_rows(app_dsn: str) -> None:
    conn = await asyncpg.connect(app_dsn)
    try:
        event_id = uuid.uuid4()
        await insert_audit_row(conn, event_id)
        for sql in (
            "UPDATE audit_events SET event_type = 'y' WHERE event_id = $1",
            "DELETE FROM audit_events WHERE event_id = $1",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql, event_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE audit_events")
    finally:
        await conn.close()


async def test_trigger_refuses_changes_even_for_the_owner(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        event_id = uuid.uuid4()
        await insert_audit_row(conn, event_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("DELETE FROM audit_events WHERE event_id = $1", event_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("TRUNCATE audit_events")
    finally:
        await conn.close()


async def test_tenant_secrets_are_encrypted_at_rest(
    app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    await add_tenant(app_pool, keyring=keyring, tenant=make_tenant(tenant_id))
    raw = await app_pool.fetchrow(
        "SELECT config::text AS c, secrets FROM tenants WHERE tenant_id = $1", tenant_id
    )
    for secret in (b"agent-token-123456", b"client-secret-98765", b"1000.refresh.abcdef"):
        assert secret not in raw["secrets"] and secret.decode() not in raw["c"]
    loaded = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    assert loaded.secrets.zoho_refresh_token.get_secret_value() == "1000.refresh.abcdef"
    assert loaded.config.zoho.dc == "eu"


async def test_unknown_tenant_is_a_clear_error(app_pool: asyncpg.Pool, keyring: KeyRing) -> None:
    with pytest.raises(TenantNotFound, match="'nobody' does not exist"):
        await load_tenant(app_pool, keyring=keyring, tenant_id="nobody")
