"""Tenants: who we sync for, where their systems are, and their (encrypted) credentials."""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from mlc_core.contracts import Entity
from mlc_core.crypto import CryptoError, KeyRing
from mlc_core.logging import ctx, register_secret
from mlc_core.sage.agent import normalized_fingerprint

log = logging.getLogger(__name__)
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class SageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_code: str = Field(min_length=1, max_length=3)
    # Empty: no on-premises agent (SOAP only); the poller then says what it cannot poll.
    agent_url: str = ""
    time_zone: str = "UTC"
    # Sage 100's eBusiness Web Services (SOAP), where the customer runs them; the logon user's
    # password is a secret (TenantSecrets.sage_password).
    soap_url: str | None = None
    username: str | None = None
    # AR invoice history that reaches Zoho: this many whole months back plus the current month
    # (0: all of it). Open invoices (AR_OpenInvoice) always go, whatever their age.
    invoice_history_months: int = Field(default=12, ge=0, le=1200)
    # The agent's self-signed certificate, pinned ("sha256:<hex>", `mlc-sage-agent-tls` prints
    # it): set, the agent is trusted by this fingerprint alone, never by the system CAs.
    agent_fingerprint: str | None = None

    @field_validator("agent_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        return normalized_fingerprint(value) if value else None

    @model_validator(mode="after")
    def _pinned_needs_https(self) -> SageConfig:
        if self.agent_fingerprint and not self.agent_url.lower().startswith("https://"):
            raise ValueError("a pinned agent (agent_fingerprint) is reached over https://")
        return self


class ZohoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dc: str = "us"
    accounts_url: str
    client_id: str
    # Where the org's CRM API lives, as the last grant said (the writer follows every refresh).
    api_domain: str | None = None


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sage: SageConfig
    zoho: ZohoConfig
    entities: list[Entity] = [Entity.AR_CUSTOMER]
    # Seconds between polls per entity; entities left out use the poller's default interval.
    cadences: dict[Entity, float] = {}

    def cadence(self, entity: Entity, default: float) -> float:
        return self.cadences.get(entity, default)


class TenantSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sage_agent_token: SecretStr
    zoho_client_secret: SecretStr
    zoho_refresh_token: SecretStr
    sage_password: SecretStr | None = None

    def plain(self) -> dict[str, str]:
        return {name: value.get_secret_value() for name, value in self if value is not None}

    def names_set(self) -> list[str]:
        return [name for name, value in self if value is not None]


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


async def save_tenant(pool: asyncpg.Pool, *, keyring: KeyRing, tenant: Tenant) -> bool:
    """Create or replace a tenant (config, secrets, name, enabled); True when it was created."""
    created: bool = await pool.fetchval(
        "INSERT INTO tenants (tenant_id, display_name, enabled, config, secrets)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET"
        " display_name = EXCLUDED.display_name, enabled = EXCLUDED.enabled,"
        " config = EXCLUDED.config, secrets = EXCLUDED.secrets, updated_at = now()"
        " RETURNING (xmax = 0)",
        tenant.tenant_id,
        tenant.display_name,
        tenant.enabled,
        tenant.config.model_dump(mode="json"),
        seal_secrets(keyring, tenant.tenant_id, tenant.secrets),
    )
    return created


async def set_enabled(pool: asyncpg.Pool, tenant_id: str, *, enabled: bool) -> None:
    status: str = await pool.execute(
        "UPDATE tenants SET enabled = $2, updated_at = now() WHERE tenant_id = $1",
        tenant_id,
        enabled,
    )
    if status.endswith(" 0"):
        raise TenantNotFound(tenant_id)


async def remove_tenant(pool: asyncpg.Pool, tenant_id: str) -> None:
    """Delete a tenant with its poller state and tokens; its audit history stays."""
    status: str = await pool.execute("DELETE FROM tenants WHERE tenant_id = $1", tenant_id)
    if status.endswith(" 0"):
        raise TenantNotFound(tenant_id)


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
    tenants = []
    for row in rows:
        try:
            tenants.append(_tenant_from_row(row, keyring))
        except CryptoError as exc:
            # One tenant sealed under a key we were not given must not stop every other tenant.
            log.error(
                "tenant skipped: its secrets cannot be decrypted with the configured master keys",
                extra=ctx(tenant=row["tenant_id"], error=str(exc)),
            )
    return tenants
