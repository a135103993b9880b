"""What the operator console shows, read through the same interfaces as `mlc status` and
`mlc audit trail`: each tenant's health at a glance, and one record's trail with its payloads.

The console must answer fast, so nothing here calls Kafka or Zoho: credits are what the
writer stored from Zoho's own answers, waiting records come from the audit projection."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from audit.admin import build_trail, record_state, trail_rows
from mlc_core.crypto import KeyRing
from mlc_core.tenants import list_tenants
from zoho_writer.admin import recent_credits, zoho_holds

from mlc_ops.audit import Trail, _resolve
from mlc_ops.errors import NotFound
from mlc_ops.status import EntityStatus, entity_rows, hold_text

SECRET_NAME = re.compile(r"token|secret|password|authori[sz]ation|api[_-]?key", re.IGNORECASE)
HIDDEN = "(hidden)"


@dataclass
class TenantHealth:
    tenant_id: str
    name: str
    enabled: bool
    entities: list[EntityStatus] = field(default_factory=list)
    hold: str | None = None  # why the writer holds the tenant's records (reconnect, pause)
    credits: str | None = None  # Zoho credits left, as Zoho last told the writer

    @property
    def waiting(self) -> int:
        return sum(e.waiting for e in self.entities)

    @property
    def failed_24h(self) -> int:
        return sum(e.failed_24h for e in self.entities)

    @property
    def written_24h(self) -> int:
        return sum(e.written_24h for e in self.entities)

    @property
    def failing_polls(self) -> int:
        return sum(1 for e in self.entities if e.poll_failures)


async def tenant_health(
    *, pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str | None = None
) -> list[TenantHealth]:
    """Every tenant (or one), with its entities' last poll, waiting, written and failed."""
    tenants = await list_tenants(pool, keyring=keyring, enabled_only=False)
    chosen = [t for t in tenants if tenant_id in (None, t.tenant_id)]
    if tenant_id is not None and not chosen:
        raise NotFound(f"no tenant {tenant_id}")
    health = {t.tenant_id: TenantHealth(t.tenant_id, t.display_name, t.enabled) for t in chosen}
    for row in await entity_rows(pool, tenant_id):
        if row.tenant in health:
            health[row.tenant].entities.append(row)
    for hold in await zoho_holds(pool, tenant_id=tenant_id):
        if hold.tenant_id in health:
            health[hold.tenant_id].hold = hold_text(hold)
    for item in health.values():
        stored = await recent_credits(pool, tenant_id=item.tenant_id)
        if stored is not None:
            item.credits = f"{stored.remaining} (as of {stored.seen_at:%H:%M} UTC)"
    return [health[key] for key in sorted(health)]


@dataclass(frozen=True)
class RecordDetail:
    trail: Trail
    payloads: dict[str, dict[str, Any]]  # event id -> its payload, secrets hidden
    correlation_ids: list[str]  # one per change of the record; every span of its trace has it


async def record_detail(
    *,
    pool: asyncpg.Pool,
    tenant_id: str,
    entity: str | None = None,
    key: str | None = None,
    zoho_id: str | None = None,
) -> RecordDetail:
    """`mlc audit trail`'s answer plus what a browser shows beside it: payloads and ids."""
    ref = await _resolve(pool, tenant_id, entity, key, zoho_id)
    rows = [dict(r) for r in await trail_rows(pool, ref)]
    entries = build_trail(rows)
    if not entries:
        raise NotFound(f"no audit events for tenant {ref[0]}, {ref[1]} {ref[2]}")
    payloads = {str(r["event_id"]): hide_secrets(_json(r["payload"])) for r in rows}
    correlations = list(
        dict.fromkeys(str(r["correlation_id"]) for r in rows if r["correlation_id"])
    )
    return RecordDetail(Trail(ref, await record_state(pool, ref), entries), payloads, correlations)


def _json(payload: Any) -> dict[str, Any]:
    if isinstance(payload, str):
        loaded = json.loads(payload)
        return loaded if isinstance(loaded, dict) else {"value": loaded}
    return dict(payload)


def hide_secrets(value: Any) -> Any:
    """A payload as an operator may see it: any field named like a secret is hidden, at any
    depth (payloads carry none today; this keeps a future field from leaking to a screen)."""
    if isinstance(value, dict):
        return {
            k: HIDDEN if SECRET_NAME.search(str(k)) and v is not None else hide_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [hide_secrets(v) for v in value]
    return value
