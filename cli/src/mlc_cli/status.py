"""`mlc status [tenant]`: per tenant and entity, the last poll, the watermark, what was written and
what failed (last 24 h, from the audit log); per consumer group, the events waiting (lag); per
tenant, Zoho credits left (from one read with the writers' cached token: 1 credit)."""

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


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser("status", help="polls, watermarks, lag, writes, failures, credits")
    cmd.add_argument("tenant_id", nargs="?", help="one tenant (default: all)")
    cmd.add_argument("--no-zoho", action="store_true", help="skip the credits read (no Zoho call)")
    add_json_flag(cmd)
    cmd.set_defaults(handler=status_cmd)


async def entity_rows(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    rows = await pool.fetch(ENTITY_ROWS, tenant_id)
    return [
        {
            "tenant": r["tenant_id"],
            "entity": r["entity"],
            "last_poll": r["polled_at"].isoformat() if r["polled_at"] else None,
            "watermark": f"{r['stamp_date']} {r['stamp_hours']:.4f}h" if r["stamp_date"] else None,
            "written_24h": r["written"],
            "failed_24h": r["failed"],
        }
        for r in rows
    ]


async def consumer_lag(bootstrap: str, groups: dict[str, Topics | None] = GROUPS) -> dict[str, int]:
    """Events waiting per consumer group: end offsets minus committed offsets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
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
    lag = await consumer_lag(settings.kafka_bootstrap)
    return {"entities": rows, "events_waiting": lag, "zoho_credits_left": credits}


def render(status: dict[str, Any]) -> str:
    rows = [
        [
            r["tenant"],
            r["entity"],
            r["last_poll"] or "never",
            r["watermark"] or "-",
            str(r["written_24h"]),
            str(r["failed_24h"]),
        ]
        for r in status["entities"]
    ]
    headers = ["TENANT", "ENTITY", "LAST POLL", "WATERMARK", "WRITTEN 24H", "FAILED 24H"]
    lag = "  ".join(f"{g}={n}" for g, n in status["events_waiting"].items())
    credits = "  ".join(f"{t}={c}" for t, c in status["zoho_credits_left"].items())
    parts = [table(rows, headers) if rows else "no polls yet", f"events waiting: {lag}"]
    return "\n".join(parts + ([f"zoho credits left: {credits}"] if credits else []))


async def status_cmd(args: argparse.Namespace) -> None:
    emit(args, await gather_status(args), render)
