"""`mlc status [tenant]`: per tenant and entity, the last poll, the watermark, records still
waiting for Zoho, what was written and what failed (last 24 h, from the audit log), and polls
failing now; per consumer group, the events waiting (lag); per tenant, Zoho credits left (what
Zoho told the writer within the last hour, else one read with its cached token: 1 credit)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from mlc_core.contracts import Topics
from mlc_core.crypto import CryptoError, KeyRing
from mlc_core.kafka import client_options
from mlc_core.settings import CommonSettings

from mlc_cli.common import add_json_flag, database, emit, table

GROUPS = {
    "mlc-mapper": Topics.SAGE_CHANGES,
    "mlc-zoho-writer": Topics.ZOHO_COMMANDS,
    "mlc-audit": None,  # every topic
}
ENTITY_ROWS = """
WITH outcomes AS (
  SELECT tenant_id, entity,
         count(*) FILTER (WHERE payload->>'status' = 'succeeded') AS written,
         count(*) FILTER (WHERE payload->>'status' = 'failed') AS failed
  FROM audit_events
  WHERE event_type = 'zoho.write.outcome' AND occurred_at > now() - interval '24 hours'
    AND ($1::text IS NULL OR tenant_id = $1)
  GROUP BY 1, 2)
SELECT coalesce(w.tenant_id, o.tenant_id) AS tenant_id, coalesce(w.entity, o.entity) AS entity,
       w.polled_at, w.stamp_date, w.stamp_hours,
       coalesce(o.written, 0) AS written, coalesce(o.failed, 0) AS failed
FROM (SELECT * FROM poller_watermarks WHERE $1::text IS NULL OR tenant_id = $1) w
FULL JOIN outcomes o ON o.tenant_id = w.tenant_id AND o.entity = w.entity
ORDER BY 1, 2
"""
POLL_HEALTH = """
SELECT tenant_id, entity, consecutive_failures, last_error FROM poller_status
WHERE $1::text IS NULL OR tenant_id = $1
"""
# Records whose newest change has no final answer from Zoho yet (in flight, or kept by the
# writer while the tenant is paused or a parent record is missing).
WAITING = """
SELECT tenant_id, entity,
       count(*) FILTER (WHERE last_outcome IS NULL OR last_outcome = 'deferred') AS waiting
FROM audit_records WHERE $1::text IS NULL OR tenant_id = $1
GROUP BY 1, 2
"""
STORED_CREDITS = """
SELECT credits_remaining, credits_seen_at FROM writer_tenant_state
WHERE tenant_id = $1 AND credits_remaining IS NOT NULL
  AND credits_seen_at > now() - interval '1 hour'
"""
# Why the writer is holding a tenant's records right now, if it is: Zoho access refused (only
# `mlc zoho connect` helps) or a pause after a 429 / an exhausted credit budget (ends by itself).
ZOHO_HOLDS = """
SELECT tenant_id, reconnect_since, reconnect_error, paused_until, pause_reason
FROM writer_tenant_state
WHERE ($1::text IS NULL OR tenant_id = $1)
  AND (reconnect_since IS NOT NULL OR paused_until > now())
ORDER BY tenant_id
"""


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser("status", help="polls, watermarks, lag, writes, failures, credits")
    cmd.add_argument("tenant_id", nargs="?", help="one tenant (default: all)")
    cmd.add_argument("--no-zoho", action="store_true", help="skip the credits read (no Zoho call)")
    add_json_flag(cmd)
    cmd.set_defaults(handler=status_cmd)


def _empty_row(tenant_id: str, entity: str) -> dict[str, Any]:
    return {
        "tenant": tenant_id,
        "entity": entity,
        "last_poll": None,
        "watermark": None,
        "waiting": 0,
        "written_24h": 0,
        "failed_24h": 0,
        "poll_failures": 0,
        "poll_error": None,
    }


async def entity_rows(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row_of(r: asyncpg.Record) -> dict[str, Any]:
        key = (r["tenant_id"], r["entity"])
        return rows.setdefault(key, _empty_row(*key))

    for r in await pool.fetch(ENTITY_ROWS, tenant_id):
        row_of(r).update(
            last_poll=r["polled_at"].isoformat() if r["polled_at"] else None,
            watermark=f"{r['stamp_date']} {r['stamp_hours']:.4f}h" if r["stamp_date"] else None,
            written_24h=r["written"],
            failed_24h=r["failed"],
        )
    # A tenant whose polls never succeeded has no watermark: it shows up from here.
    for r in await pool.fetch(POLL_HEALTH, tenant_id):
        row_of(r).update(poll_failures=r["consecutive_failures"], poll_error=r["last_error"])
    for r in await pool.fetch(WAITING, tenant_id):
        row_of(r)["waiting"] = r["waiting"]
    return [rows[key] for key in sorted(rows)]


async def consumer_lag(bootstrap: str, groups: dict[str, Topics | None] = GROUPS) -> dict[str, int]:
    """Events waiting per consumer group: end offsets minus committed offsets."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, **client_options()
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options()
    )
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics([str(t) for t in Topics])
        partitions = {
            d["topic"]: [TopicPartition(d["topic"], p["partition"]) for p in d["partitions"]]
            for d in described
        }
        ends = await consumer.end_offsets([tp for tps in partitions.values() for tp in tps])
        return {
            group: await _group_lag(admin, group, topic, partitions, ends)
            for group, topic in groups.items()
        }
    finally:
        await consumer.stop()
        await admin.close()


async def _group_lag(
    admin: AIOKafkaAdminClient,
    group: str,
    topic: str | None,
    partitions: dict[str, list[TopicPartition]],
    ends: dict[TopicPartition, int],
) -> int:
    wanted = [tp for t, tps in partitions.items() if topic in (None, t) for tp in tps]
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=wanted)
    except GroupCoordinatorNotAvailableError:
        committed = {}  # no group has committed anything on this cluster yet
    done = {tp: getattr(committed.get(tp), "offset", -1) for tp in wanted}
    return sum(max(0, ends.get(tp, 0) - max(0, done[tp])) for tp in wanted)


async def credits_left(pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str) -> str:
    stored = await pool.fetchrow(STORED_CREDITS, tenant_id)
    if stored is not None:  # Zoho told the writer recently: no call needed
        return f"{stored['credits_remaining']} (as of {stored['credits_seen_at']:%H:%M} UTC)"
    return await _credits_from_zoho(pool, keyring, tenant_id)


async def _credits_from_zoho(pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str) -> str:
    row = await pool.fetchrow("SELECT * FROM zoho_tokens WHERE tenant_id = $1", tenant_id)
    if row is None or row["expires_at"] <= datetime.now(UTC):
        return "unknown (no live token)"
    try:
        aad = f"tenant:{tenant_id}:zoho-access-token"
        token = keyring.decrypt(row["access_token"], aad=aad).decode()
    except CryptoError:
        return "unknown (token unreadable with these keys)"
    async with httpx.AsyncClient(timeout=15) as http:
        try:
            response = await http.get(
                f"{row['api_domain'].rstrip('/')}/crm/v8/org",
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
            )
        except httpx.HTTPError as exc:
            return f"unknown ({type(exc).__name__})"
    if response.status_code != 200:
        return f"unknown (Zoho answered {response.status_code})"
    return response.headers.get("X-API-CREDITS-REMAINING") or "over half of today's"


async def gather_status(args: argparse.Namespace) -> dict[str, Any]:
    settings = CommonSettings()
    async with database() as (pool, keyring):
        rows = await entity_rows(pool, args.tenant_id)
        tenants = sorted({r["tenant"] for r in rows} | ({args.tenant_id} - {None}))
        credits = {} if args.no_zoho else {t: await credits_left(pool, keyring, t) for t in tenants}
        holds = {r["tenant_id"]: _hold_of(r) for r in await pool.fetch(ZOHO_HOLDS, args.tenant_id)}
    lag = await consumer_lag(settings.kafka_bootstrap)
    return {
        "entities": rows,
        "events_waiting": lag,
        "zoho_credits_left": credits,
        "zoho_holds": holds,
    }


def _hold_of(row: asyncpg.Record) -> str:
    if row["reconnect_since"] is not None:
        since = f"{row['reconnect_since']:%Y-%m-%d %H:%M}"
        return f"reconnect Zoho since {since} UTC: {row['reconnect_error']}"
    return f"paused until {row['paused_until']:%H:%M:%S} UTC: {row['pause_reason']}"


def render(status: dict[str, Any]) -> str:
    rows = [
        [
            r["tenant"],
            r["entity"],
            r["last_poll"] or "never",
            r["watermark"] or "-",
            str(r["waiting"]),
            str(r["written_24h"]),
            str(r["failed_24h"]),
            _poll_errors(r),
        ]
        for r in status["entities"]
    ]
    headers = ["TENANT", "ENTITY", "LAST POLL", "WATERMARK", "WAITING", "WRITTEN 24H"]
    headers += ["FAILED 24H", "POLL FAILURES"]
    lag = "  ".join(f"{g}={n}" for g, n in status["events_waiting"].items())
    credits = "  ".join(f"{t}={c}" for t, c in status["zoho_credits_left"].items())
    parts = [table(rows, headers) if rows else "no polls yet", f"events waiting: {lag}"]
    holds = [f"zoho hold {t}: {h}" for t, h in status["zoho_holds"].items()]
    return "\n".join(parts + ([f"zoho credits left: {credits}"] if credits else []) + holds)


def _poll_errors(row: dict[str, Any]) -> str:
    if not row["poll_failures"]:
        return "0"
    return f"{row['poll_failures']} in a row: {(row['poll_error'] or '')[:60]}"


async def status_cmd(args: argparse.Namespace) -> None:
    emit(args, await gather_status(args), render)
