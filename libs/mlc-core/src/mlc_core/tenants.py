"""Tenants: who we sync for, where their systems are, and their (encrypted) credentials."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.logging import register_secret

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class SageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_code: str = Field(min_length=1, max_length=3)
    agent_url: str
    time_zone: str = "UTC"


class ZohoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dc: str = "us"
    accounts_url: str
    client_id: str


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sage: SageConfig
    zoho: ZohoConfig
    entities: list[Entity] = [Entity.AR_CUSTOMER]


class TenantSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sage_agent_token: SecretStr
    zoho_client_secret: SecretStr
    zoho_refresh_token: SecretStr

    def plain(self) -> dict[str, str]:
        return {name: value.get_secret_value() for name, value in self}


class Tenant(BaseModel):
    tenant_id: str = Field(pattern=TENANT_ID_PATTERN)
    display_name: str
    enabled: bool = True
    config: TenantConfig
    secrets: TenantSecrets


class TenantNotFound(LookupError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {tenant_id!r} does not exist")
        self.tenant_id = tenant_id


def _aad(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:secrets"


def seal_secrets(keyring: KeyRing, tenant_id: str, secrets: TenantSecrets) -> bytes:
    return keyring.encrypt(json.dumps(secrets.plain()).encode(), aad=_aad(tenant_id))


def open_secrets(keyring: KeyRing, tenant_id: str, blob: bytes) -> TenantSecrets:
    plain = json.loads(keyring.decrypt(blob, aad=_aad(tenant_id)))
    for value in plain.values():
        register_secret(value)
    return TenantSecrets.model_validate(plain)


async def add_tenant(pool: asyncpg.Pool, *, keyring: KeyRing, tenant: Tenant) -> None:
    await pool.execute(
        "INSERT INTO tenants (tenant_id, display_name, enabled, config, secrets)"
        " VALUES ($1, $2, $3, $4, $5)",
        tenant.tenant_id,
        tenant.display_name,
        tenant.enabled,
        tenant.config.model_dump(mode="json"),
        seal_secrets(keyring, tenant.tenant_id, tenant.secrets),
    )


def _tenant_from_row(row: Any, keyring: KeyRing) -> Tenant:
    return Tenant(
        tenant_id=row["tenant_id"],
        display_name=row["display_name"],
        enabled=row["enabled"],
        config=TenantConfig.model_validate(row["config"]),
        secrets=open_secrets(keyring, row["tenant_id"], row["secrets"]),
    )


async def load_tenant(pool: asyncpg.Pool, *, keyring: KeyRing, tenant_id: str) -> Tenant:
    row = await pool.fetchrow("SELECT * FROM tenants WHERE tenant_id = $1", tenant_id)
    if row is None:
        raise TenantNotFound(tenant_id)
    return _tenant_from_row(row, keyring)


async def list_tenants(
    pool: asyncpg.Pool, *, keyring: KeyRing, enabled_only: bool = True
) -> list[Tenant]:
    rows = await pool.fetch(
        "SELECT * FROM tenants WHERE enabled OR NOT $1 ORDER BY tenant_id", enabled_only
    )
    return [_tenant_from_row(row, keyring) for row in rows]
