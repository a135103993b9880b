"""One chaos run: set up, flow records through the faults, settle, verify, report."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool, migrate
from mlc_devtools.devstack import DevStack, StackConfig

from chaos import observe
from chaos.corpus_rows import corpus_rows
from chaos.inject import Injector
from chaos.onboard import connect
from chaos.plan import Fault, PlanSpec, build_plan
from chaos.settle import Settler
from chaos.verify import Report
from chaos.workload import TenantLoad, Workload

log = logging.getLogger("chaos")
REPLICAS = {"mlc-mapper": 2, "mlc-zoho-writer": 2}
TICK_S = 2.0
PROGRESS_S = 20.0
BUSY = "Sage record locks on: reads answered busy"
CREATE_SHARE = 0.5  # all records exist by half-time; the rest of the window only edits


@dataclass(frozen=True)
class Options:
    minutes: float = 6.0
    seed: int = 1
    customers: int = 2000  # numbered customers over all tenants (contacts: 1.5 per customer)
    tenants: int = 3
    kill_rounds: int = 3
    edits_per_tick: int = 4  # new versions per tenant every 2 s
    settle_timeout_s: float = 900.0
    log_dir: Path = Path(".local/state/chaos-logs")


def app_url(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(
        parts._replace(path=f"/{database}", netloc=f"mlc_app@{parts.hostname}:{parts.port}")
    )


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """Its own database per run (kept afterwards for `mlc audit trail`; down.sh --purge)."""
    name = f"mlc_chaos_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    admin_db = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    await migrate(admin_db)
    yield app_url(admin_url, name)


async def run(opts: Options) -> Report:
    # The same defaults as deploy/local (and `make test`): the broker and cluster it restarts.
    admin_url = os.environ.get(
        "MLC_DATABASE_ADMIN_URL", "postgresql://mlc_admin@127.0.0.1:55432/mlc"
    )
    bootstrap = os.environ.get("MLC_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    async with fresh_database(admin_url) as dsn:
        config = StackConfig(
            kafka_bootstrap=bootstrap,
            database_url=dsn,
            master_keys=generate_key_text("chaos"),
            sage_port=free_port(),
            zoho_port=free_port(),
            agent_port=free_port(),
            log_dir=opts.log_dir,
        )
        stack = DevStack(config)
        try:
            return await _run(opts, stack, bootstrap)
        finally:
            stack.stop_all()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _run(opts: Options, stack: DevStack, bootstrap: str) -> Report:
    # Tenant ids unique per run: a broker reused from an earlier run may still hold its commands.
    run_id = uuid.uuid4().hex[:4]
    loads = [
        TenantLoad(
            f"chaos{i + 1}-{run_id}",
            f"C{i + 1:02d}",
            _share(opts.customers, opts.tenants, i),
        )
        for i in range(opts.tenants)
    ]
    stack.start_emulators()
    async with (
        httpx.AsyncClient(base_url=stack.config.sage_url, timeout=60) as sage,
        httpx.AsyncClient(base_url=stack.config.zoho_url, timeout=60) as zoho,
    ):
        await _onboard(stack.config, loads)
        since = await observe.end_offsets(bootstrap)
        stack.start_services(REPLICAS)
        injector = Injector(stack=stack, zoho=zoho, sage=sage, seed=opts.seed)
        stop = asyncio.Event()
        supervisor = asyncio.create_task(injector.supervise(stop))
        try:
            await _chaos_window(opts, injector, Workload(sage, loads, opts.seed))
            await injector.clear()
            settler = Settler(
                stack=stack, sage=sage, zoho=zoho, loads=loads, bootstrap=bootstrap, since=since
            )
            settled = await settler.settle(opts.settle_timeout_s)
            return await _report(opts, injector, settler, settled)
        finally:
            stop.set()
            await supervisor
            await injector.reap()


async def _onboard(config: StackConfig, loads: list[TenantLoad]) -> None:
    pool = await create_pool(config.database_url)
    try:
        for load in loads:
            await connect(
                pool=pool,
                keyring=KeyRing.parse(config.master_keys),
                stack=config,
                tenant_id=load.tenant,
                company=load.company,
            )
    finally:
        await pool.close()


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _killable(stack: DevStack) -> tuple[str, ...]:
    services = [name for name in stack.procs if name.startswith("mlc-") and "emulator" not in name]
    return tuple(sorted(services))


async def _chaos_window(opts: Options, injector: Injector, workload: Workload) -> None:
    """Records are created over the first half of the window (numbered, in waves), and edited
    throughout it; the planned faults fire on their own clock meanwhile."""
    seconds = opts.minutes * 60
    tenants = tuple(load.tenant for load in workload.loads)
    spec = PlanSpec(seconds, opts.seed, tenants, _killable(injector.stack), opts.kill_rounds)
    plan = build_plan(spec)
    log_dir = injector.stack.config.log_dir
    print(
        f"chaos window: {seconds:.0f} s, {len(plan)} faults planned; logs in {log_dir}", flush=True
    )
    started = time.monotonic()
    faults = [asyncio.create_task(_at(started, f, injector)) for f in plan]
    shown = -PROGRESS_S
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            await workload.create_share(min(1.0, elapsed / (CREATE_SHARE * seconds) + 0.02))
            await workload.edit(opts.edits_per_tick)
            if elapsed - shown >= PROGRESS_S:
                _progress(elapsed, workload, injector)
                shown = elapsed
            await asyncio.sleep(TICK_S)
        await asyncio.gather(*faults)
    finally:
        for task in faults:
            task.cancel()


async def _at(started: float, fault: Fault, injector: Injector) -> None:
    await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
    try:
        await injector.apply(fault)
    except Exception:  # the run goes on and the table says which fault did not happen
        log.exception("could not inject %s %s", fault.label, fault.target)
        injector.not_injected[fault.label] += 1


def _progress(elapsed: float, workload: Workload, injector: Injector) -> None:
    created = sum(load.created for load in workload.loads)
    writes = sum(load.writes for load in workload.loads)
    faults, exits = sum(injector.injected.values()), sum(injector.unexpected_exits.values())
    print(
        f"[{elapsed:5.0f}s] customers created {created}, Sage writes {writes},"
        f" faults so far {faults}, unexpected exits {exits}",
        flush=True,
    )


async def _report(
    opts: Options, injector: Injector, settler: Settler, settled: float | None
) -> Report:
    loads = settler.loads
    contacts = sum(load.contacts for load in loads)
    title = (
        f"chaos: {opts.minutes:g} min window, seed {opts.seed}, {len(loads)} tenants,"
        f" {sum(load.created for load in loads)} customers + {contacts} contacts,"
        f" {sum(load.writes for load in loads)} Sage writes"
    )
    return Report(
        title=title,
        faults=injector.injected + Counter({BUSY: await injector.sage_busy_answers()}),
        not_injected=injector.not_injected,
        records=settler.records,
        audit=settler.audit,
        failures=settler.failures,
        unexpected_exits=injector.unexpected_exits,
        settled_in_s=settled,
        replays=settler.replays,
        corpus=await corpus_rows(),
    )
