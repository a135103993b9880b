"""`mlc-dev demo`: the whole stack on the emulators, a distributor's company loaded into Zoho, then
live changes, with a live view per entity (demo_view) and a summary that says where to look.

Every entity is synced: the Sage emulator generates the company (customers, contacts, vendors
and their open invoices, GL accounts and groups, open sales orders, invoice history) and
`mlc zoho setup` creates the custom modules and fields in the emulated Zoho org first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool, migrate
from mlc_core.entities.sage import SAGE_TABLES
from mlc_core.runtime import sleep_or_stop, stop_on_signals
from mlc_core.zoho.consent import CONNECTOR_SCOPES
from mlc_ops.passwords import hash_password

from mlc_devtools.demo_env import DemoSecrets, closing_lines, demo_secrets, start_lines
from mlc_devtools.demo_otlp import OtlpReceiver, Received
from mlc_devtools.demo_summary import mlc_command, summary
from mlc_devtools.demo_view import DemoView, live_counts
from mlc_devtools.devstack import DevStack, StackConfig
from mlc_devtools.emulated import EMULATOR_HOSTS, connect_tenant

# What `mlc zoho connect` asks a real org for: `mlc ping` and `mlc status` read the org too.
SCOPES = CONNECTOR_SCOPES


@dataclass(frozen=True)
class DemoOptions:
    customers: int = 2000
    seed: int = 42
    tenant: str = "demo"
    company: str = "ABC"
    duration: float = 0.0  # seconds of live changes after the initial load; 0: until Ctrl-C
    interval: float | None = None  # between refreshes; None: 2 s on a terminal, 5 s otherwise
    changes_every: float = 20.0
    changes: int = 10
    port_base: int = 18100


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = verbs.add_parser(
        "demo", help="run the whole stack on emulators and watch it flow", description=__doc__
    )
    demo.add_argument("--customers", type=int, default=2000, help="size of the company")
    demo.add_argument("--seed", type=int, default=42, help="the generator's seed")
    demo.add_argument("--tenant", default="demo")
    demo.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop N s after the initial load is in Zoho (default 0: run until Ctrl-C)",
    )
    demo.add_argument("--interval", type=float, help="seconds between refreshes")
    demo.add_argument("--changes-every", type=float, default=20.0, help="seconds between edits")
    demo.add_argument("--changes", type=int, default=10, help="customers edited each time")
    demo.add_argument(
        "--port-base", type=int, default=18100, help="Sage emulator port; Zoho +100, agent +200"
    )
    demo.set_defaults(handler=demo_cmd)


async def demo_cmd(args: argparse.Namespace) -> None:
    options = DemoOptions(
        customers=args.customers,
        seed=args.seed,
        tenant=args.tenant,
        duration=args.duration,
        interval=args.interval,
        changes_every=args.changes_every,
        changes=args.changes,
        port_base=args.port_base,
    )
    await run_demo(options)


def stack_config(options: DemoOptions, receiver: OtlpReceiver, demo: DemoSecrets) -> StackConfig:
    return StackConfig(
        kafka_bootstrap=os.environ.get("MLC_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        database_url=os.environ.get("MLC_DATABASE_URL", "postgresql://mlc_app@127.0.0.1:55432/mlc"),
        master_keys=demo.master_keys,
        sage_agent_token=demo.agent_token,
        sage_port=options.port_base,
        zoho_port=options.port_base + 100,
        agent_port=options.port_base + 200,
        console_port=options.port_base + 300,
        console_password_hash=hash_password(demo.console_password),
        log_dir=state_dir() / "logs",
        extra_env=receiver.env(),
    )


async def prepare(config: StackConfig, options: DemoOptions) -> tuple[asyncpg.Pool, dict[str, int]]:
    """Schema, the tenant wired to the emulators with every entity, Zoho's custom modules, and
    the generated company. Returns the pool and the records each entity should load."""
    await migrate(
        os.environ.get("MLC_DATABASE_ADMIN_URL", "postgresql://mlc_admin@127.0.0.1:55432/mlc")
    )
    pool = await create_pool(config.database_url)
    keyring = KeyRing.parse(config.master_keys)
    if await pool.fetchval("SELECT count(*) FROM tenants WHERE tenant_id = $1", options.tenant):
        await pool.close()
        # The emulators start empty every time; the tenant's versions and hashes would not.
        raise SystemExit(
            f"mlc-dev demo: tenant {options.tenant!r} exists from an earlier demo; start from a"
            " clean database (`make down` then `make demo`) or pass another --tenant"
        )
    await connect_tenant(
        pool=pool,
        keyring=keyring,
        stack=config,
        tenant_id=options.tenant,
        company=options.company,
        scopes=SCOPES,
        entities=list(Entity),
    )
    async with httpx.AsyncClient(timeout=120) as http:
        await setup(pool, keyring, options.tenant, http=http, hosts=EMULATOR_HOSTS)
        generated = await http.post(
            f"{config.sage_url}/_emulator/companies/{options.company}/generate",
            json={"customers": options.customers, "seed": options.seed},
        )
        generated.raise_for_status()
    created: dict[str, int] = generated.json()["created"]
    return pool, {str(e): created.get(SAGE_TABLES[e].table, 0) for e in Entity}


async def run_demo(options: DemoOptions) -> None:
    receiver = OtlpReceiver(forward_to=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")).start()
    demo = demo_secrets(state_dir(), os.environ)
    config = stack_config(options, receiver, demo)
    stack = DevStack(config)
    stop = stop_on_signals()  # Ctrl-C or SIGTERM: leave the loop, then stop every process
    pool: asyncpg.Pool | None = None
    try:
        print(f"starting the emulators and the agent; logs in {config.log_dir}", flush=True)
        stack.start_emulators()
        pool, expected = await prepare(config, options)
        print(_seeded_line(options, expected), flush=True)
        stack.start_services()
        stack.start_console()
        print("\n".join(start_lines(config, demo, mlc_command())), flush=True)
        print("the four services and the console are up. Ctrl-C stops the demo.", flush=True)
        await watch(pool, stack, options, expected, stop, receiver.index)
    finally:
        print("stopping the services", flush=True)
        stack.stop_all()  # they flush their last spans as they stop
        if pool is not None:
            print(await summary(pool, receiver.index, options.tenant, config), flush=True)
            print("\n".join(closing_lines(config, demo, mlc_command())), flush=True)
            await pool.close()
        receiver.stop()


def _seeded_line(options: DemoOptions, expected: dict[str, int]) -> str:
    parts = ", ".join(f"{n:,} {entity}" for entity, n in expected.items())
    return f"Sage company {options.company} generated: {parts}"


async def watch(
    pool: asyncpg.Pool,
    stack: DevStack,
    options: DemoOptions,
    expected: dict[str, int],
    stop: asyncio.Event,
    received: Received,
) -> None:
    tty = sys.stdout.isatty()
    interval = options.interval or (2.0 if tty else 5.0)
    view = DemoView(options.tenant, expected, sys.stdout, time.monotonic, tty)
    editor = LiveEditor(options)
    async with httpx.AsyncClient(base_url=stack.config.sage_url, timeout=30) as sage:
        while not stop.is_set():
            if view.loaded_after is not None:
                await editor.maybe_edit(sage)
            counts = await live_counts(received, pool, options.tenant)
            view.update(counts, editor.note(stack))
            if options.duration and view.live_for() >= options.duration:
                break  # a scripted run: the load plus N seconds of live changes
            await sleep_or_stop(stop, interval)


class LiveEditor:
    """After the initial load, edits a few customers in Sage every so often: live changes."""

    def __init__(self, options: DemoOptions) -> None:
        self._options, self._last = options, 0.0
        self.edited = 0

    async def maybe_edit(self, sage: httpx.AsyncClient) -> None:
        if time.monotonic() - self._last < self._options.changes_every:
            return
        response = await sage.post(
            f"/_emulator/companies/{self._options.company}/ar_customers/touch",
            json={"random": self._options.changes},
        )
        response.raise_for_status()
        self.edited += len(response.json().get("records", []))
        self._last = time.monotonic()

    def note(self, stack: DevStack) -> str:
        dead = stack.dead()
        parts = [f"live changes: {self.edited} customer edit(s) in Sage so far"]
        if dead:
            parts.append(f"STOPPED: {', '.join(dead)} (see {stack.config.log_dir})")
        return "  ".join(parts)


def state_dir() -> Path:
    return Path(os.environ.get("MLC_STATE_DIR", ".local/state"))
