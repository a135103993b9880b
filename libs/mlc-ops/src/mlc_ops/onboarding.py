"""Onboarding: the checklist a new tenant passes before it writes anything to Zoho.

A tenant starts disabled (`mlc tenant add` without --enable): the poller serves only enabled
tenants, so nothing is read from Sage or written to Zoho. The checklist, computed afresh each
time (so `mlc tenant onboard` and the console resume wherever the tenant is):

1. connected: the Sage agent answers our token, Zoho refreshes our token;
2. ping green: every check of `mlc ping` passes (each failure carries its fix);
3. Zoho setup done: the modules and external key fields exist (`mlc zoho setup`);
4. entities chosen: the tenant lists the entities to sync (`mlc sage set --entities`);
5. first sync: once 1-4 are green, `start` enables the tenant and asks the poller for a poll of
   every entity; the step is done when each has been polled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
import httpx
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.tenants import Tenant, load_tenant, set_enabled
from sage_poller.admin import watermarks

from mlc_ops.errors import Refused
from mlc_ops.ping import Check, ping
from mlc_ops.sync import request_sync

# What `mlc zoho setup` makes true: the modules, their upsert keys and every field the mapping
# writes (ping names each check so).
SETUP_CHECKS = ("modules", "external key", "mapped fields")
CONNECT_CHECKS = ("agent reachable", "agent token", "token refresh")


@dataclass(frozen=True)
class Step:
    name: str
    done: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Checklist:
    tenant_id: str
    enabled: bool
    steps: list[Step]
    checks: list[Check]  # the ping behind steps 1-3, for the details

    @property
    def ready(self) -> bool:
        """Steps 1-4 green: the tenant may start syncing."""
        return all(s.done for s in self.steps[:4])

    @property
    def green(self) -> bool:
        return all(s.done for s in self.steps)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "enabled": self.enabled,
            "ready": self.ready,
            "green": self.green,
            "steps": [asdict(s) for s in self.steps],
        }


async def checklist(
    *, pool: asyncpg.Pool, keyring: KeyRing, http: httpx.AsyncClient, tenant_id: str
) -> Checklist:
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    checks = await ping(tenant=tenant, http=http)
    polled = {w.entity for w in await watermarks(pool, tenant_id=tenant_id)}
    steps = [
        _from_checks("connected", [c for c in checks if c.name.startswith(CONNECT_CHECKS)]),
        _from_checks("ping green", checks),
        _from_checks("Zoho setup done", [c for c in checks if c.name.startswith(SETUP_CHECKS)]),
        _entities(tenant),
        _first_sync(tenant, polled),
    ]
    return Checklist(tenant.tenant_id, tenant.enabled, steps, checks)


def _from_checks(name: str, checks: list[Check]) -> Step:
    failed = [c for c in checks if c.status == "fail"]
    if not checks:
        return Step(name, False, "nothing to check", "run `mlc ping` and read its output")
    if failed:
        first = failed[0]
        return Step(
            name, False, f"{len(failed)} failing, first: {first.name}: {first.detail}", first.fix
        )
    return Step(name, True, f"{len(checks)} check(s) pass")


def _entities(tenant: Tenant) -> Step:
    chosen = tenant.config.entities
    if not chosen:
        return Step("entities chosen", False, "none", "`mlc sage set <tenant> --entities …`")
    return Step("entities chosen", True, ", ".join(str(e) for e in chosen))


def _first_sync(tenant: Tenant, polled: set[str]) -> Step:
    waiting = [str(e) for e in tenant.config.entities if str(e) not in polled]
    if not tenant.enabled:
        return Step(
            "first sync",
            False,
            "not started (the tenant is disabled)",
            "when steps 1-4 are green: `mlc tenant onboard <tenant>` starts it",
        )
    if waiting:
        return Step(
            "first sync",
            False,
            f"waiting for {', '.join(waiting)}",
            "the poller picks them up within seconds; `mlc status` shows progress",
        )
    return Step("first sync", True, f"every entity polled ({len(polled)})")


async def start(
    *, pool: asyncpg.Pool, keyring: KeyRing, http: httpx.AsyncClient, tenant_id: str
) -> list[tuple[Entity, int]]:
    """Enable the tenant and ask for the first poll of each entity; refused until 1-4 pass."""
    found = await checklist(pool=pool, keyring=keyring, http=http, tenant_id=tenant_id)
    if not found.ready:
        failing = next(s for s in found.steps if not s.done)
        raise Refused(
            f"tenant {tenant_id} is not ready to sync: {failing.name}: {failing.detail}"
            + (f" (fix: {failing.fix})" if failing.fix else "")
        )
    await set_enabled(pool, tenant_id, enabled=True)
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    return [
        (entity, await request_sync(pool=pool, keyring=keyring, tenant_id=tenant_id, entity=entity))
        for entity in tenant.config.entities
    ]
