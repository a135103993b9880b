"""Status: per tenant and entity the last poll, the watermark, records still waiting for Zoho,
what was written and what failed (last 24 h, from the audit log), and polls failing now; per
consumer group the events waiting (lag); per tenant the Zoho credits left (what Zoho told the
writer within the last hour, else one read with the writer's cached token: 1 credit) and why
the writer holds its records, if it does."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from audit.admin import outcome_counts, waiting_counts
from mlc_core.contracts import Topics
from mlc_core.crypto import CryptoError, KeyRing
from mlc_core.lag import LagReader
from mlc_core.zoho import metadata
from mlc_core.zoho.errors import ZohoError
from sage_poller.admin import poll_health, watermarks
from zoho_writer.admin import ZohoHold, cached_token, recent_credits, zoho_holds

GROUPS: dict[str, Topics | None] = {
    "mlc-mapper": Topics.SAGE_CHANGES,
    "mlc-zoho-writer": Topics.ZOHO_COMMANDS,
    "mlc-audit": None,  # every topic
}


@dataclass
class EntityStatus:
    tenant: str
    entity: str
    last_poll: str | None = None  # ISO 8601
    watermark: str | None = None
    waiting: int = 0
    written_24h: int = 0
    failed_24h: int = 0
    poll_failures: int = 0
    poll_error: str | None = None
    # The last successful poll's seconds, those on Sage (agent and Sage server), and how late
    # it began: a slow Sage side, or a poller with more tenants than it polls on time.
    poll_seconds: float | None = None
    poll_sage_seconds: float | None = None
    poll_late_seconds: float | None = None


@dataclass
class Status:
    entities: list[EntityStatus]
    events_waiting: dict[str, int]  # consumer group -> events not yet consumed
    zoho_credits_left: dict[str, str] = field(default_factory=dict)  # tenant -> what is known
    zoho_holds: dict[str, str] = field(default_factory=dict)  # tenant -> why records are held

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def status(
    *,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    http: httpx.AsyncClient | None,
    kafka_bootstrap: str,
    tenant_id: str | None = None,
) -> Status:
    """`http` None: no Zoho call (credits are then only what the writer stored)."""
    rows = await entity_rows(pool, tenant_id)
    tenants = sorted({r.tenant for r in rows} | ({tenant_id} if tenant_id else set()))
    credits = {
        t: await credits_left(pool, keyring=keyring, http=http, tenant_id=t) for t in tenants
    }
    holds = {h.tenant_id: hold_text(h) for h in await zoho_holds(pool, tenant_id=tenant_id)}
    lag = await consumer_lag(kafka_bootstrap)
    known = {t: c for t, c in credits.items() if c is not None}
    return Status(rows, lag, known, holds)


async def entity_rows(pool: asyncpg.Pool, tenant_id: str | None) -> list[EntityStatus]:
    rows: dict[tuple[str, str], EntityStatus] = {}

    def row_of(tenant: str, entity: str) -> EntityStatus:
        return rows.setdefault((tenant, entity), EntityStatus(tenant, entity))

    for w in await watermarks(pool, tenant_id=tenant_id):
        row = row_of(w.tenant_id, w.entity)
        row.last_poll = w.polled_at.isoformat()
        row.watermark = f"{w.stamp_date} {w.stamp_hours:.4f}h"
    for o in await outcome_counts(pool, tenant_id=tenant_id):
        row = row_of(o.tenant_id, o.entity)
        row.written_24h, row.failed_24h = o.written, o.failed
    # A tenant whose polls never succeeded has no watermark: it shows up from here.
    for h in await poll_health(pool, tenant_id=tenant_id):
        row = row_of(h.tenant_id, h.entity)
        row.poll_failures, row.poll_error = h.consecutive_failures, h.last_error
        row.poll_seconds, row.poll_sage_seconds = h.last_poll_seconds, h.last_poll_sage_seconds
        row.poll_late_seconds = h.last_poll_late_seconds
    for (tenant, entity), waiting in (await waiting_counts(pool, tenant_id=tenant_id)).items():
        row_of(tenant, entity).waiting = waiting
    return [rows[key] for key in sorted(rows)]


async def consumer_lag(bootstrap: str, groups: dict[str, Topics | None] = GROUPS) -> dict[str, int]:
    """Events waiting per consumer group: end offsets minus committed offsets."""
    reader = LagReader(bootstrap)
    await reader.start()
    try:
        return await reader.lag(groups)
    finally:
        await reader.close()


async def credits_left(
    pool: asyncpg.Pool, *, keyring: KeyRing, http: httpx.AsyncClient | None, tenant_id: str
) -> str | None:
    """What is known of the tenant's Zoho credits; None when not asked (no http, none stored)."""
    stored = await recent_credits(pool, tenant_id=tenant_id)
    if stored is not None:  # Zoho told the writer recently: no call needed
        return f"{stored.remaining} (as of {stored.seen_at:%H:%M} UTC)"
    if http is None:
        return None
    try:
        token = await cached_token(pool, keyring=keyring, tenant_id=tenant_id)
    except CryptoError:
        return "unknown (token unreadable with these keys)"
    if token is None:
        return "unknown (no live token)"
    try:
        org = await metadata.org(http, api_domain=token.api_domain, access_token=token.value)
    except ZohoError as exc:
        return f"unknown (Zoho answered {exc.status or type(exc).__name__})"
    return "over half of today's" if org.credits_remaining is None else str(org.credits_remaining)


def hold_text(hold: ZohoHold) -> str:
    waiting = f" ({hold.parked} command(s) parked)" if hold.parked else ""
    if hold.reconnect_since is not None:
        since = f"{hold.reconnect_since:%Y-%m-%d %H:%M}"
        return f"reconnect Zoho since {since} UTC: {hold.reconnect_error}{waiting}"
    why = f"{hold.pause_reason}: {hold.pause_detail}" if hold.pause_detail else hold.pause_reason
    if hold.paused_until is not None and hold.paused_until > datetime.now(UTC):
        return f"paused until {hold.paused_until:%H:%M:%S} UTC: {why}{waiting}"
    return f"parked until a retry goes through: {why}{waiting}"
