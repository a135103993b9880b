"""Console page times (a script, not a test): every page with 100 tenants, a million audit
events and a million operator actions.

    MLC_DATABASE_ADMIN_URL=postgresql://mlc_admin@127.0.0.1:55432/mlc \\
        .venv/bin/python -m bench.console_bench [--tenants 100] [--events 1000000] [--rounds 20]

Fills a throwaway database (audit events spread over the last day across each tenant's records,
one in fifty records failing; operator actions over the last month), starts `mlc-console` as a
process, signs in over HTTP and times each page's full answer, server-rendered HTML included.
Prints p50, p95 and max per page and exits non-zero when a p95 is over the budget (300 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from mlc_devtools.devstack import DevStack, StackConfig
from mlc_ops.console_views import tenant_health
from mlc_ops.passwords import hash_password
from pydantic import SecretStr

from bench.stack import env_or_exit, throwaway_database

BUDGET_MS = 300.0
PASSWORD = "bench-console-password"  # noqa: S105 - the throwaway console's own

EVENTS_SQL = """
INSERT INTO audit_events (event_id, event_type, schema_version, tenant_id, entity, source_key,
  correlation_id, occurred_at, topic, kafka_partition, kafka_offset, payload)
SELECT gen_random_uuid(), kind.t, 1, 't' || lpad((i % $2::int)::text, 3, '0'), 'ar_customer',
  '01-' || lpad(((i / $2::int) % $3::int)::text, 7, '0'), gen_random_uuid(),
  now() - make_interval(secs => (i % 86000)), kind.topic, i % 6, i,
  jsonb_build_object('event_type', kind.t, 'status', CASE WHEN i % 50 = 0 THEN 'failed'
    ELSE 'succeeded' END, 'record', jsonb_build_object('CustomerName', 'Customer ' || i))
FROM generate_series(1, $1::int) AS i,
LATERAL (SELECT
  (ARRAY['sage.record.changed', 'zoho.upsert.requested', 'zoho.write.outcome'])[1 + i % 3] AS t,
  (ARRAY['mlc.sage.changes', 'mlc.zoho.commands', 'mlc.zoho.outcomes'])[1 + i % 3] AS topic) kind
"""
RECORDS_SQL = """
INSERT INTO audit_records (tenant_id, entity, source_key, zoho_id, source_version, last_outcome,
  last_outcome_at, failure_count, last_error_code, last_error, last_event_at)
SELECT 't' || lpad((i % $1::int)::text, 3, '0'), 'ar_customer',
  '01-' || lpad((i / $1::int)::text, 7, '0'),
  '4706848000' || i, '20261204 12.000000', CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
  now() - make_interval(secs => i % 86000), (i % 50 = 0)::int,
  CASE WHEN i % 50 = 0 THEN 'INVALID_DATA' END,
  CASE WHEN i % 50 = 0 THEN 'Zoho refused Phone' END, now()
FROM generate_series(0, $1::int * $2::int - 1) AS i
"""
ACTIONS_SQL = """
INSERT INTO operator_actions (at, operator, action, tenant_id, outcome)
SELECT now() - make_interval(secs => i % 2592000), 'admin', 'ping',
  't' || lpad((i % $2::int)::text, 3, '0'), 'all checks passed'
FROM generate_series(1, $1::int) AS i
"""


async def fill(admin_url: str, app_url: str, keyring: KeyRing, args: argparse.Namespace) -> None:
    pool = await create_pool(app_url)
    for n in range(args.tenants):
        await add_tenant(pool, keyring=keyring, tenant=tenant(f"t{n:03d}"))
    await pool.close()
    per_tenant = args.events // args.tenants // 3  # records per tenant: ~3 events each
    admin = await asyncpg.connect(app_url.replace("mlc_app@", "mlc_admin@"))
    started = time.monotonic()
    await admin.execute("SELECT audit_ensure_partitions(now())")
    await admin.execute(EVENTS_SQL, args.events, args.tenants, per_tenant)
    await admin.execute(RECORDS_SQL, args.tenants, per_tenant)
    await admin.execute(ACTIONS_SQL, args.actions, args.tenants)
    await admin.execute("ANALYZE")
    await admin.close()
    print(f"filled in {time.monotonic() - started:.0f}s", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tenant(tenant_id: str) -> Tenant:
    return Tenant(
        tenant_id=tenant_id,
        display_name=f"{tenant_id} Inc",
        config=TenantConfig(
            sage=SageConfig(company_code="ABC", agent_url="http://127.0.0.1:9"),
            zoho=ZohoConfig(accounts_url="http://127.0.0.1:9", client_id="1000.BENCH"),
            entities=[Entity.AR_CUSTOMER],
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr("t"),
            zoho_client_secret=SecretStr("s"),
            zoho_refresh_token=SecretStr("r"),
        ),
    )


def pages(args: argparse.Namespace) -> dict[str, str]:
    mid = f"t{args.tenants // 2:03d}"
    return {
        "tenants": "/",
        "tenants (live rows)": "/live/tenants",
        "tenant": f"/tenants/{mid}",
        "tenant (live rows)": f"/live/tenants/{mid}",
        "record": f"/records?tenant={mid}&entity=ar_customer&key=01-0000050",
        "operator audit": "/operators",
        "sign-in": "/signin",
    }


async def snapshot_times(app_url: str, keyring: KeyRing, rounds: int) -> list[float]:
    """The console's background health snapshot (mlc_ops.console_views.tenant_health)."""
    pool = await create_pool(app_url)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await tenant_health(pool=pool, keyring=keyring)
        times.append((time.perf_counter() - started) * 1000)
    await pool.close()
    return times


async def measure(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        signed = await http.post("/signin", data={"user": "admin", "password": PASSWORD})
        assert signed.status_code == 303, signed.text
        for name, path in pages(args).items():
            await http.get(path)  # warm: templates compiled, pool connections open
            for _ in range(args.rounds):
                started = time.perf_counter()
                answer = await http.get(path)
                times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, f"{path}: {answer.status_code}"
    return times


async def run(args: argparse.Namespace) -> int:
    admin_url = env_or_exit("MLC_DATABASE_ADMIN_URL")
    keys = generate_key_text("bench")
    async with throwaway_database(admin_url) as app_url:
        await fill(admin_url, app_url, KeyRing.parse(keys), args)
        snapshot = await snapshot_times(app_url, KeyRing.parse(keys), 5)
        config = StackConfig(
            database_url=app_url,
            master_keys=keys,
            console_port=free_port(),
            console_password_hash=hash_password(PASSWORD),
            log_dir=args.log_dir,
        )
        stack = DevStack(config)
        try:
            await asyncio.to_thread(stack.start_console)
            times = await measure(config.console_url, args)
        finally:
            stack.stop_all()
    print(
        f"background health snapshot (all tenants, every MLC_CONSOLE_REFRESH_SECONDS):"
        f" median {statistics.median(snapshot):.0f} ms, max {max(snapshot):.0f} ms"
    )
    return report(times, args)


def report(times: dict[str, list[float]], args: argparse.Namespace) -> int:
    print(
        f"console pages, {args.tenants} tenants, {args.events:,} audit events,"
        f" {args.actions:,} operator actions, {args.rounds} requests each (ms):"
    )
    over = []
    for name, values in times.items():
        p95 = statistics.quantiles(values, n=20, method="inclusive")[18]
        print(
            f"  {name:20} p50 {statistics.median(values):7.1f}"
            f"  p95 {p95:7.1f}  max {max(values):7.1f}"
        )
        if p95 > BUDGET_MS:
            over.append(name)
    print(f"over {BUDGET_MS:.0f} ms at p95: {', '.join(over) or 'none'}")
    return 1 if over else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--log-dir", type=Path, default=Path(".local/state/console-bench"))
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
