"""Tenants declared in a file, for GitOps (`mlc tenant import tenants.yaml`).

The file holds settings and *where* each secret comes from, never a secret value, so it can
live in a repository. A secret comes from one of two places, and no other (the file cannot make
import read any variable or file it likes):

- `{env: MLC_TENANT_<ID>_<SECRET>}`: exactly that variable, <ID> the tenant id and <SECRET> the
  secret's name, upper case, `-` as `_` (e.g. MLC_TENANT_ACME_SAGE_AGENT_TOKEN);
- `{file: <relative path>}`: a file under the import file's own directory (a mounted
  Kubernetes Secret beside it), readable by its owner only (mode 0600 or 0400).

    tenants:
      - id: acme
        name: Acme Corp
        sage: {company_code: ABC, agent_url: "https://agent.acme.local:8443",
               time_zone: America/Chicago}
        zoho: {dc: eu, client_id: "1000.XXXX"}
        entities: [ar_customer]
        cadences: {ar_customer: 900}
        secrets:
          sage_agent_token: {env: MLC_TENANT_ACME_SAGE_AGENT_TOKEN}
          zoho_client_secret: {file: secrets/acme/zoho-client-secret}
          zoho_refresh_token: {env: MLC_TENANT_ACME_ZOHO_REFRESH_TOKEN}

Import is declarative and idempotent: each listed tenant is created or made equal to the file;
a secret the file leaves out keeps its stored value; `--prune` disables tenants the file does not
list (never deletes). A tenant's secrets only go where it is allowed: Zoho's own hosts (and
MLC_ZOHO_ALLOWED_HOSTS), an agent over https:// (http:// only on loopback), and a stored secret
is kept only while the URL it is sent to stays the same (an entry that moves the agent or the
accounts server gives the secrets for the new place too). Every entry is validated before
anything is written, so a bad file changes nothing; errors name the tenant and the field.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from mlc_core.zoho.hosts import is_loopback
from mlc_core.zoho.oauth import ACCOUNTS_SERVERS
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from zoho_writer.admin import forget_tenant

from mlc_ops.errors import Refused
from mlc_ops.tenants import check_hosts


class TenantFileError(ValueError):
    """The file cannot be imported; the message names the tenant and the field."""


def env_name(tenant_id: str, secret: str) -> str:
    """The one variable a tenant's secret may come from."""
    return f"MLC_TENANT_{tenant_id}_{secret}".upper().replace("-", "_")


class SecretSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: str | None = None
    file: Path | None = None

    def read(self, where: str, *, expected_env: str, base: Path) -> str:
        if (self.env is None) == (self.file is None):
            raise TenantFileError(f"{where}: give exactly one of env or file")
        if self.env is not None:
            if self.env != expected_env:
                raise TenantFileError(f"{where}: env must be {expected_env}, not {self.env}")
            value = os.environ.get(self.env)
            if not value:
                raise TenantFileError(f"{where}: environment variable {self.env} is not set")
            return value
        assert self.file is not None
        return _read_secret_file(where, self.file, base)


def _read_secret_file(where: str, name: Path, base: Path) -> str:
    path = (base / name).resolve()
    if name.is_absolute() or not path.is_relative_to(base):
        raise TenantFileError(f"{where}: {name} is not under the import file's directory {base}")
    try:
        if path.stat().st_mode & 0o077:
            raise TenantFileError(f"{where}: {name} is readable by others (chmod 600 it)")
        return path.read_text().strip()
    except OSError as exc:
        raise TenantFileError(f"{where}: cannot read {name}: {exc.strerror}") from exc


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
    _base: Path = PrivateAttr(default_factory=Path.cwd)  # the import file's directory

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
    for entry in entries:
        entry._base = path.parent.resolve()
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
    """The tenant the entry declares; secrets it leaves out keep their stored values (while
    the place they are sent to stays the same)."""
    try:
        config = entry.config()
        secrets = current.secrets.plain() if current else {}
        for name, source in entry.secrets.items():
            where, expected = f"tenant {entry.id}: secrets.{name}", env_name(entry.id, name)
            secrets[name] = source.read(where, expected_env=expected, base=entry._base)
        tenant = Tenant(
            tenant_id=entry.id,
            display_name=entry.name or entry.id,
            enabled=entry.enabled,
            config=config,
            secrets=TenantSecrets.model_validate(secrets),
        )
    except ValidationError as exc:
        raise TenantFileError(f"tenant {entry.id}: {_where(exc)}") from exc
    _check_destinations(entry, tenant, current)
    return tenant


def _agent_url(tenant: Tenant) -> str:
    return tenant.config.sage.agent_url


def _accounts_url(tenant: Tenant) -> str:
    return tenant.config.zoho.accounts_url


# A stored secret and the setting naming where it is sent.
_BOUND: dict[str, tuple[str, Callable[[Tenant], str]]] = {
    "sage_agent_token": ("agent_url", _agent_url),
    "sage_password": ("agent_url", _agent_url),
    "zoho_client_secret": ("accounts_url", _accounts_url),
    "zoho_refresh_token": ("accounts_url", _accounts_url),
}


def _check_destinations(entry: TenantEntry, tenant: Tenant, current: Tenant | None) -> None:
    try:
        check_hosts(tenant)
    except Refused as exc:
        raise TenantFileError(str(exc)) from exc
    agent = urlsplit(tenant.config.sage.agent_url)
    if agent.scheme == "http" and not is_loopback(agent.hostname or ""):
        raise TenantFileError(
            f"tenant {entry.id}: sage.agent_url must be https:// (http:// only on loopback)"
        )
    if current is None:
        return
    for secret, (setting, url_of) in _BOUND.items():
        kept = secret not in entry.secrets and secret in current.secrets.names_set()
        if kept and url_of(tenant) != url_of(current):
            raise TenantFileError(
                f"tenant {entry.id}: {setting} changes, so secrets.{secret} must be given too"
                " (the stored one is not sent to a new place)"
            )


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
