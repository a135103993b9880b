"""Tenants declared in a file, for GitOps (`mlc tenant import tenants.yaml`).

The file holds settings and *where* each secret comes from (an environment variable or a file,
e.g. a mounted Kubernetes Secret), never a secret value, so it can live in a repository:

    tenants:
      - id: acme
        name: Acme Corp
        sage: {company_code: ABC, agent_url: "https://agent.acme.local:8443",
               time_zone: America/Chicago}
        zoho: {dc: eu, client_id: "1000.XXXX"}
        entities: [ar_customer]
        cadences: {ar_customer: 900}
        secrets:
          sage_agent_token: {env: ACME_AGENT_TOKEN}
          zoho_client_secret: {file: /run/secrets/acme/zoho-client-secret}
          zoho_refresh_token: {env: ACME_ZOHO_REFRESH_TOKEN}

Import is declarative and idempotent: each listed tenant is created or made equal to the file;
a secret the file leaves out keeps its stored value; `--prune` disables tenants the file does not
list (never deletes). Every entry is validated before anything is written, so a bad file changes
nothing; errors name the tenant and the field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from mlc_core.crypto import KeyRing
from mlc_core.tenants import (
    Tenant,
    TenantConfig,
    TenantNotFound,
    TenantSecrets,
    list_tenants,
    load_tenant,
    save_tenant,
    set_enabled,
)
from mlc_core.zoho.oauth import ACCOUNTS_SERVERS
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from zoho_writer.admin import forget_tenant


class TenantFileError(ValueError):
    """The file cannot be imported; the message names the tenant and the field."""


class SecretSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: str | None = None
    file: Path | None = None

    def read(self, where: str) -> str:
        if (self.env is None) == (self.file is None):
            raise TenantFileError(f"{where}: give exactly one of env or file")
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise TenantFileError(f"{where}: environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text().strip()
        except OSError as exc:
            raise TenantFileError(f"{where}: cannot read {self.file}: {exc.strerror}") from exc


class TenantEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = None
    enabled: bool = True
    sage: dict[str, Any]
    zoho: dict[str, Any]
    entities: list[str] | None = None
    cadences: dict[str, float] | None = None
    secrets: dict[str, SecretSource] = Field(default_factory=dict)

    def config(self) -> TenantConfig:
        zoho = dict(self.zoho)
        zoho.setdefault("accounts_url", ACCOUNTS_SERVERS.get(zoho.get("dc", "us"), ""))
        body: dict[str, Any] = {"sage": self.sage, "zoho": zoho}
        if self.entities is not None:
            body["entities"] = self.entities
        if self.cadences is not None:
            body["cadences"] = self.cadences
        return TenantConfig.model_validate(body)


def parse_file(path: Path) -> list[TenantEntry]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TenantFileError(f"{path}: {exc}") from exc
    items = data.get("tenants") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise TenantFileError(f"{path}: expected a top-level 'tenants:' list")
    entries = [_entry(item, index) for index, item in enumerate(items)]
    ids = [e.id for e in entries]
    if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
        raise TenantFileError(f"{path}: tenant listed twice: {', '.join(duplicates)}")
    return entries


def _entry(item: Any, index: int) -> TenantEntry:
    name = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
    try:
        return TenantEntry.model_validate(item)
    except ValidationError as exc:
        raise TenantFileError(f"tenant {name}: {_where(exc)}") from exc


def _where(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


def desired(entry: TenantEntry, current: Tenant | None) -> Tenant:
    """The tenant the entry declares; secrets it leaves out keep their stored values."""
    try:
        config = entry.config()
        secrets = current.secrets.plain() if current else {}
        for name, source in entry.secrets.items():
            secrets[name] = source.read(f"tenant {entry.id}: secrets.{name}")
        return Tenant(
            tenant_id=entry.id,
            display_name=entry.name or entry.id,
            enabled=entry.enabled,
            config=config,
            secrets=TenantSecrets.model_validate(secrets),
        )
    except ValidationError as exc:
        raise TenantFileError(f"tenant {entry.id}: {_where(exc)}") from exc


def _same(a: Tenant, b: Tenant | None) -> bool:
    if b is None:
        return False
    plain = (a.display_name, a.enabled, a.config, a.secrets.plain())
    return plain == (b.display_name, b.enabled, b.config, b.secrets.plain())


async def _current(pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str) -> Tenant | None:
    try:
        return await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    except TenantNotFound:
        return None


async def apply(
    *,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    entries: list[TenantEntry],
    dry_run: bool = False,
    prune: bool = False,
) -> list[dict[str, str]]:
    """Create or update each entry's tenant (all validated before any is written); `prune`
    disables enabled tenants the entries leave out. One {tenant, action} per change."""
    currents = {e.id: await _current(pool, keyring, e.id) for e in entries}
    wanted = [(desired(e, currents[e.id]), currents[e.id]) for e in entries]  # all or nothing
    report = []
    for tenant, current in wanted:
        action = "unchanged" if _same(tenant, current) else "updated" if current else "created"
        if action != "unchanged" and not dry_run:
            if current is None:  # a reused id starts clean (mlc_ops.tenants.add)
                await forget_tenant(pool, tenant_id=tenant.tenant_id)
            await save_tenant(pool, keyring=keyring, tenant=tenant)
        report.append({"tenant": tenant.tenant_id, "action": action})
    if prune:
        report += await _prune(pool, keyring, {e.id for e in entries}, dry_run=dry_run)
    return report


async def _prune(
    pool: asyncpg.Pool, keyring: KeyRing, keep: set[str], *, dry_run: bool
) -> list[dict[str, str]]:
    report = []
    for tenant in await list_tenants(pool, keyring=keyring, enabled_only=True):
        if tenant.tenant_id not in keep:
            if not dry_run:
                await set_enabled(pool, tenant.tenant_id, enabled=False)
            report.append({"tenant": tenant.tenant_id, "action": "disabled"})
    return report
