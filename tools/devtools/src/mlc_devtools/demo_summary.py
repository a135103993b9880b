"""The demo's last words: totals per entity, failures by reason, and where to look next (one
real record's audit trail command and its trace id)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
from mlc_cli.common import table

from mlc_devtools.demo_otlp import Received
from mlc_devtools.demo_view import counts_table, failure_reasons, fetch_counts
from mlc_devtools.devstack import StackConfig, script

# Recent successful writes, customers first: the demo's live edits are customers, so the record
# picked is likely one with a history (the initial load and a later change).
RECENT_WRITES = """
SELECT event_id::text AS event_id, entity, source_key, payload->>'zoho_id' AS zoho_id
FROM audit_events
WHERE tenant_id = $1 AND event_type = 'zoho.write.outcome' AND payload->>'status' = 'succeeded'
ORDER BY (entity = 'ar_customer') DESC, occurred_at DESC
LIMIT 50
"""


def mlc_command() -> str:
    local = Path(".venv/bin/mlc")
    return str(local) if local.exists() else script("mlc")


async def summary(pool: asyncpg.Pool, index: Received, tenant_id: str, config: StackConfig) -> str:
    counts = await fetch_counts(pool, tenant_id)
    reasons = await failure_reasons(pool, tenant_id)
    parts = [
        f"summary for tenant {tenant_id}",
        counts_table(counts) if counts else "nothing reached the audit log",
        "failures by reason:",
        table(reasons, ["ENTITY", "REASON", "COUNT", "E.G."]) if reasons else "  none",
        "where to look next:",
        *await next_steps(pool, index, tenant_id, config),
    ]
    return "\n".join(parts)


async def next_steps(
    pool: asyncpg.Pool, index: Received, tenant_id: str, config: StackConfig
) -> list[str]:
    rows = await pool.fetch(RECENT_WRITES, tenant_id)
    if not rows:
        return [f"  the service logs in {config.log_dir}"]
    traced = [(r, index.trace_for(r["event_id"])) for r in rows]
    row, found = next(((r, t) for r, t in traced if t is not None), traced[0])
    env = f"MLC_DATABASE_URL={config.database_url}"
    lines = [
        f"  {row['entity']} {row['source_key']} (Zoho id {row['zoho_id']}), its history:",
        f"    {env} {mlc_command()} audit trail {tenant_id} {row['entity']} {row['source_key']}",
        f"  what is failing now:  {env} {mlc_command()} audit failures --tenant {tenant_id}",
    ]
    return lines + trace_lines(found) + [f"  service logs: {config.log_dir}"]


def trace_lines(found: tuple[str, list[str], int] | None) -> list[str]:
    if found is None:
        return ["  its trace: not received (is OTEL_SDK_DISABLED set?)"]
    trace_id, services, spans = found
    lines = [f"  its trace {trace_id}: {spans} spans across {', '.join(services)}"]
    jaeger = os.environ.get("MLC_JAEGER_URL")  # set by `MLC_TRACES=jaeger make demo`
    if jaeger:
        return [
            *lines,
            f"    in Jaeger: {jaeger}/api/traces/{trace_id} (its spans as JSON; the page"
            f" {jaeger}/trace/{trace_id} in a Jaeger built with its UI)",
        ]
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return [*lines, f"    (also sent to your OTLP endpoint; Jaeger: /trace/{trace_id})"]
    return [*lines, "    to keep the traces in Jaeger: MLC_TRACES=jaeger make demo"]
