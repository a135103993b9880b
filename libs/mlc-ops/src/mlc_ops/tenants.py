"""Tenant changes: add, enable or disable, remove, save new settings, connect Zoho, and the
tenant's mapping file. Secrets arrive as SecretStr and are stored encrypted (mlc_core.tenants);
an operation's result names which secrets are set, never their values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from mapper.admin import MapFileError, StoredMap, load_stored, parse_map, remove_map, save_map
from mlc_core.crypto import KeyRing
from mlc_core.tenants import (
    Tenant,
    TenantSecrets,
    ZohoConfig,
    add_tenant,
    list_tenants,
    load_tenant,
    remove_tenant,
    save_tenant,
    set_enabled,
)
from mlc_core.zoho.consent import RedirectGrant, exchange_redirect
from mlc_core.zoho.oauth import TokenGrant, exchange_grant_code
from pydantic import SecretStr
from zoho_writer.admin import forget_tenant, forget_token

from mlc_ops.errors import Refused

__all__ = [
    "Connected",
    "MapFileError",
    "add",
    "check_mapping",
    "connect_zoho",
    "describe",
    "enable",
    "get",
    "list_all",
    "mapping",
    "refresh_token_from_code",
    "remove",
    "remove_mapping",
    "save",
    "set_mapping",
]


def describe(tenant: Tenant) -> dict[str, Any]:
    """A tenant as operators see it: settings, and the names of the secrets that are set."""
    return {
        "tenant_id": tenant.tenant_id,
        "display_name": tenant.display_name,
        "enabled": tenant.enabled,
        "config": tenant.config.model_dump(mode="json"),
        "secrets_set": tenant.secrets.names_set(),
    }


async def add(*, pool: asyncpg.Pool, keyring: KeyRing, tenant: Tenant) -> None:
    """A new tenant starts clean: whatever the writer kept for a removed tenant of the same id
    (versions, parked commands, holds, token) belongs to another org and is forgotten."""
    exists = await pool.fetchval("SELECT 1 FROM tenants WHERE tenant_id = $1", tenant.tenant_id)
    if not exists:
        await forget_tenant(pool, tenant_id=tenant.tenant_id)
    try:
        await add_tenant(pool, keyring=keyring, tenant=tenant)
    except asyncpg.UniqueViolationError as exc:
        raise Refused(
            f"tenant {tenant.tenant_id!r} already exists (`mlc sage set`,"
            " `mlc zoho connect` or `mlc tenant import` change it)"
        ) from exc


async def get(*, pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str) -> Tenant:
    """Raises mlc_core.tenants.TenantNotFound."""
    return await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)


async def list_all(*, pool: asyncpg.Pool, keyring: KeyRing) -> list[Tenant]:
    return await list_tenants(pool, keyring=keyring, enabled_only=False)


async def save(*, pool: asyncpg.Pool, keyring: KeyRing, tenant: Tenant) -> None:
    """Store the tenant's new settings and secrets (the services notice within 30 s)."""
    await save_tenant(pool, keyring=keyring, tenant=tenant)


async def enable(*, pool: asyncpg.Pool, tenant_id: str, enabled: bool) -> None:
    """Raises mlc_core.tenants.TenantNotFound."""
    await set_enabled(pool, tenant_id, enabled=enabled)


async def remove(*, pool: asyncpg.Pool, tenant_id: str) -> None:
    """Deletes the tenant, its credentials and sync state (the writer's too: a disabled or
    failing tenant's parked commands go with it); its audit history is kept."""
    await remove_tenant(pool, tenant_id)
    await forget_tenant(pool, tenant_id=tenant_id)


async def refresh_token_from_code(
    *,
    http: httpx.AsyncClient,
    accounts_url: str,
    client_id: str,
    client_secret: SecretStr,
    code: str,
) -> SecretStr:
    """A self-client grant code exchanged for the refresh token (single use, short-lived)."""
    grant = await exchange_grant_code(
        http,
        accounts_url=accounts_url,
        client_id=client_id,
        client_secret=client_secret.get_secret_value(),
        code=code,
    )
    assert grant.refresh_token is not None  # exchange_grant_code refuses a grant without one
    return SecretStr(grant.refresh_token)


@dataclass(frozen=True)
class Connected:
    tenant: Tenant
    api_domain: str


async def connect_zoho(
    *,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    http: httpx.AsyncClient,
    tenant: Tenant,
    config: ZohoConfig,
    client_secret: SecretStr,
    grant: RedirectGrant,
    redirect_uri: str | None = None,
) -> Connected:
    """Exchange the consent's code at the accounts server it names, store the refresh token
    with the data centre and api_domain, and drop the writer's cached access token (it
    belongs to the old grant). Raises a mlc_core.zoho ZohoError when Zoho refuses the code."""
    token = await exchange_redirect(
        http,
        grant,
        client_id=config.client_id,
        client_secret=client_secret.get_secret_value(),
        redirect_uri=redirect_uri,
    )
    updated = _with_grant(tenant, config, client_secret, token)
    await save_tenant(pool, keyring=keyring, tenant=updated)
    await forget_token(pool, tenant_id=tenant.tenant_id)
    return Connected(updated, token.api_domain)


def _with_grant(
    tenant: Tenant, config: ZohoConfig, client_secret: SecretStr, grant: TokenGrant
) -> Tenant:
    assert grant.refresh_token is not None
    secrets = tenant.secrets.plain() | {
        "zoho_client_secret": client_secret.get_secret_value(),
        "zoho_refresh_token": grant.refresh_token,
    }
    zoho = config.model_copy(update={"api_domain": grant.api_domain})
    return tenant.model_copy(
        update={
            "config": tenant.config.model_copy(update={"zoho": zoho}),
            "secrets": TenantSecrets.model_validate(secrets),
        }
    )


def check_mapping(text: str) -> None:
    """Raises MapFileError naming the line and the problem."""
    parse_map(text)


async def set_mapping(
    *, pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str, source_yaml: str
) -> int:
    """Validate and store the tenant's mapping file; returns its revision."""
    check_mapping(source_yaml)
    await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    return await save_map(pool, tenant_id, source_yaml)


async def mapping(*, pool: asyncpg.Pool, tenant_id: str) -> StoredMap | None:
    return await load_stored(pool, tenant_id)


async def remove_mapping(*, pool: asyncpg.Pool, tenant_id: str) -> bool:
    """Back to the default mapping; False when the tenant had no file."""
    return await remove_map(pool, tenant_id)
