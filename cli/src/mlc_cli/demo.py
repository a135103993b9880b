"""`mlc demo`: the whole stack on the emulators, with a live view of records flowing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from pathlib import Path

import asyncpg
import httpx
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool, migrate
from mlc_core.runtime import sleep_or_stop, stop_on_signals

from mlc_cli.devstack import DevStack, StackConfig
from mlc_cli.emulated import connect_tenant

TENANT, COMPANY = "demo", "ABC"
STAGES = {
    "sage.record.changed": "polled",
    "zoho.upsert.requested": "mapped",
    "zoho.write.outcome": "outcomes",
    "mlc.dead_letter": "dead letters",
}


async def stage_counts(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT event_type, count(*) AS n FROM audit_events WHERE tenant_id = $1 GROUP BY 1",
        TENANT,
    )
    return {STAGES.get(r["event_type"], r["event_type"]): r["n"] for r in rows}


async def zoho_count(stack: StackConfig) -> int:
    async with httpx.AsyncClient(base_url=stack.zoho_url, timeout=10) as zoho:
        response = await zoho.get(f"/_emulator/orgs/{TENANT}/records/Accounts")
        return len(response.json().get("data", []))


async def prepare(stack_config: StackConfig, customers: int) -> asyncpg.Pool:
    await migrate(
        os.environ.get("MLC_DATABASE_ADMIN_URL", "postgresql://mlc_admin@127.0.0.1:55432/mlc")
    )
    pool = await create_pool(stack_config.database_url)
    keyring = KeyRing.parse(stack_config.master_keys)
    if await pool.fetchval("SELECT count(*) FROM tenants WHERE tenant_id = $1", TENANT) == 0:
        await connect_tenant(
            pool=pool, keyring=keyring, stack=stack_config, tenant_id=TENANT, company=COMPANY
        )
    async with httpx.AsyncClient(base_url=stack_config.sage_url, timeout=60) as sage:
        await sage.post(
            f"/_emulator/companies/{COMPANY}/seed",
            json={"count": customers, "seed": 42, "division": "01"},
        )
    return pool


async def watch(pool: asyncpg.Pool, stack: DevStack, stop: asyncio.Event) -> None:
    started, last_touch = time.monotonic(), time.monotonic()
    async with httpx.AsyncClient(base_url=stack.config.sage_url, timeout=30) as sage:
        while not stop.is_set():
            counts, in_zoho = await stage_counts(pool), await zoho_count(stack.config)
            elapsed = time.monotonic() - started
            line = "  ".join(f"{stage}={counts.get(stage, 0):>6}" for stage in STAGES.values())
            print(
                f"[{elapsed:6.0f}s] {line}  zoho_accounts={in_zoho:>6}  dead={stack.dead()}",
                flush=True,
            )
            if time.monotonic() - last_touch > 20:  # live changes: a few customers edited in Sage
                await sage.post(
                    f"/_emulator/companies/{COMPANY}/ar_customers/touch", json={"random": 10}
                )
                last_touch = time.monotonic()
            await sleep_or_stop(stop, 2)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = verbs.add_parser("demo", help="run the whole stack on emulators and watch it flow")
    demo.add_argument("--customers", type=int, default=2000)
    demo.set_defaults(handler=lambda args: run_demo(customers=args.customers))


async def run_demo(*, customers: int) -> None:
    config = StackConfig(
        master_keys=os.environ.get("MLC_MASTER_KEYS") or _demo_key(),
        log_dir=Path(os.environ.get("MLC_STATE_DIR", ".local/state")) / "logs",
    )
    stack = DevStack(config)
    stop = stop_on_signals()  # Ctrl-C or SIGTERM: leave the loop, then stop every process
    try:
        stack.start_emulators()
        pool = await prepare(config, customers)
        stack.start_services()
        print(f"stack up; logs in {config.log_dir}. Ctrl-C stops everything.", flush=True)
        await watch(pool, stack, stop)
        await pool.close()
    finally:
        print("stopping the stack", flush=True)
        stack.stop_all()


def _demo_key() -> str:
    """The demo keeps one local key so restarts can still read the demo tenant's secrets."""
    path = Path(os.environ.get("MLC_STATE_DIR", ".local/state")) / "demo-master-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key_text("demo"))
        with contextlib.suppress(OSError):
            path.chmod(0o600)
    return path.read_text().strip()
