"""Fairness across many tenants: does one tenant's initial load, or a thousand tenant loops,
delay anyone's changes?

    .venv/bin/python -m bench.fairness [--tenants 1000] [--quick]   # on a running Kafka/PostgreSQL

Onboards N tenants on one stack (each its own Sage company of a few customers with a contact
each, and its own Zoho org at the given latency), waits for their initial loads, then, while
one more tenant runs an initial load (50,000 customers with two contacts each: 150,000 records;
1,000 customers in --quick), changes every small tenant's customers at random times over a
window and times each change from the edit in Sage to the write in Zoho. Reports per-tenant
p50/p99, their spread across tenants, the tenants over the bound (poll interval + 10 s) or
starved (a change that never arrived), each service's peak RSS, and the poller's CPU per poll.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from mlc_cli.zoho_setup import setup
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool
from mlc_core.tenants import (
    add_tenant,
    set_enabled,
)
from mlc_devtools.devstack import DevStack
from mlc_devtools.emulated import EMULATOR_HOSTS

from bench import capacity
from bench.fairness_figures import (
    CUSTOMER_SIDE,
    CarriedChange,
    FairnessPlan,
    PollsSeen,
    change_schedule,
    company_code,
    poll_intervals,
    render,
    spread,
    summarize,
    tenant_name,
    without_sage_time,
    writer_pauses,
)
from bench.fairness_figures import (
    make_plan as make_plan,
)
from bench.scenarios import Load, changed_customer
from bench.stack import (
    Bench,
    PeakRss,
    contact_row,
    env_or_exit,
    free_port,
    new_zoho_org,
    stack_config,
    throwaway_database,
)

LOADER = "fair-loader"
AGENT_SESSIONS = 32  # the small tenants' one agent's BOI sessions (measure_fairness says why)
T = TypeVar("T")


async def bounded(tasks: Iterable[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run the task factories at most `limit` at a time, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(task: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await task()

    return list(await asyncio.gather(*(one(t) for t in tasks)))


async def onboard(
    bench: Bench, n: int, plan: FairnessPlan, http: httpx.AsyncClient, spent: dict[str, float]
) -> list[str]:
    """A small tenant: its Sage company (customers with a contact each), its Zoho org at the
    plan's latency, the tenant row and `mlc zoho setup`; enabled last. Returns its keys and
    adds the seconds of each step to `spent`."""
    tenant_id, company = tenant_name(n), company_code(n)
    clock = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.monotonic()
        spent[step] = spent.get(step, 0.0) + now - clock
        clock = now

    base = f"/_emulator/companies/{company}"
    seed = {"count": plan.customers_per_tenant, "seed": n, "division": "01"}
    (await bench.sage.post(f"{base}/seed", json=seed)).raise_for_status()
    rows = (await bench.sage.get(f"{base}/ar_customers")).json()["records"]
    contacts = {"records": [contact_row(row, 0) for row in rows]}
    (await bench.sage.post(f"{base}/tables/AR_CustomerContact", json=contacts)).raise_for_status()
    lap("sage_company")
    org = await new_zoho_org(bench.zoho, tenant_id)
    lap("zoho_org_and_grant")
    tenant = bench.tenant(tenant_id, company, org, label="fairness")
    await add_tenant(bench.pool, keyring=bench.keyring, tenant=tenant)
    lap("tenant_row")
    await setup(bench.pool, bench.keyring, tenant_id, http=http, hosts=EMULATOR_HOSTS)
    lap("zoho_setup")
    await bench.set_latency(tenant_id, plan.latency_ms)  # after setup: only its writes wait
    await set_enabled(bench.pool, tenant_id, enabled=True)
    lap("enable")
    return [f"{r['ARDivisionNo']}-{r['CustomerNo']}" for r in rows]


async def wait_loaded(bench: Bench, tenants: list[str], records: int, within: float) -> list[str]:
    """Until each tenant's org holds `records` accounts and as many contacts; returns the
    tenants that did not get there within `within` seconds."""
    pending, deadline = list(tenants), time.monotonic() + within
    while pending and time.monotonic() < deadline and not bench.dead_services():
        stats = await bounded([partial(bench.zoho_stats, t) for t in pending], 16)
        pending = [
            t
            for t, s in zip(pending, stats, strict=True)
            if min(s["records"].get("Accounts", 0), s["records"].get("Contacts", 0)) < records
        ]
        await asyncio.sleep(1)
    return pending


async def change_in(bench: Bench, company: str, key: str) -> None:
    body = {"records": [changed_customer(key)], "touch_stamps": True}
    path = f"/_emulator/companies/{company}/ar_customers"
    (await bench.sage.post(path, json=body)).raise_for_status()


async def run_window(
    bench: Bench, plan: FairnessPlan, keys: list[list[str]], rng: random.Random
) -> dict[str, dict[str, float]]:
    """Every scheduled change, each sent at its time; {tenant: {key: when it was sent}}."""
    changed_at: dict[str, dict[str, float]] = {tenant_name(n): {} for n in range(plan.tenants)}
    start = time.monotonic()
    for at, n, customer in change_schedule(plan, rng):
        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
        key = keys[n][customer]
        changed_at[tenant_name(n)][key] = time.time()
        await change_in(bench, company_code(n), key)
    return changed_at


async def collect(
    bench: Bench, changed_at: dict[str, dict[str, float]], since: float, within: float
) -> dict[str, list[float]]:
    """Each tenant's change latencies (Sage edit to Zoho write), waiting up to `within`
    seconds for the changes still missing."""
    latencies: dict[str, list[float]] = {}
    pending, deadline = list(changed_at), time.monotonic() + within
    while pending and not bench.dead_services():
        written = await bounded(
            [partial(bench.written_since, t, "Accounts", since) for t in pending], 16
        )
        for tenant, got in zip(pending, written, strict=True):
            sent = changed_at[tenant]
            latencies[tenant] = [got[k] - at for k, at in sent.items() if k in got]
        pending = [t for t in pending if len(latencies[t]) < len(changed_at[t])]
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    return latencies


STAGES_SQL = """
SELECT tenant_id, source_key, event_type, min(recorded_at) AS at
FROM audit_events
WHERE tenant_id LIKE 'fair-%' AND entity = 'ar_customer' AND recorded_at >= $1
  AND event_type IN ('sage.record.changed', 'zoho.upsert.requested')
GROUP BY tenant_id, source_key, event_type
"""


async def stage_times(
    bench: Bench, since: float, changed_at: dict[str, dict[str, float]]
) -> tuple[dict[str, list[float]], list[CarriedChange]]:
    """Where each change's time went, from when the audit log stored each event (an event's
    own occurred_at is its cause's time): Sage edit to the poll's sage.record.changed, that to
    the mapper's command, the command to Zoho's write. The audit's own lag is in each step,
    so the last one can be negative. With them, each change's latency and when it was polled."""
    rows = await bench.pool.fetch(STAGES_SQL, dt.datetime.fromtimestamp(since, dt.UTC))
    events = {(r["tenant_id"], r["source_key"], r["event_type"]): r["at"].timestamp() for r in rows}
    stages: dict[str, list[float]] = {"poll_wait_s": [], "map_s": [], "write_s": []}
    changes: list[CarriedChange] = []
    for tenant, sent in changed_at.items():
        written = await bench.written_since(tenant, "Accounts", since)
        for key, at in sent.items():
            polled = events.get((tenant, key, "sage.record.changed"))
            commanded = events.get((tenant, key, "zoho.upsert.requested"))
            if polled is None or commanded is None or key not in written:
                continue
            stages["poll_wait_s"].append(polled - at)
            stages["map_s"].append(commanded - polled)
            stages["write_s"].append(written[key] - commanded)
            changes.append(CarriedChange(tenant, written[key] - at, polled))
    return stages, changes


async def poll_times(bench: Bench, seconds: float) -> PollsSeen:
    """Each small tenant's entity's successful polls seen over `seconds` (poller_status,
    sampled every 0.5 s): how often the poller actually gets round to each tenant, how late
    each poll began and how long it took."""
    seen = PollsSeen()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = await bench.pool.fetch(
            "SELECT tenant_id, entity, last_success_at, last_poll_started_at, last_poll_seconds,"
            " last_poll_late_seconds, last_poll_sage_seconds FROM poller_status"
            " WHERE tenant_id LIKE 'fair-0%' AND last_success_at IS NOT NULL"
        )
        for row in rows:
            seen.add(dict(row))
        await asyncio.sleep(0.5)
    return seen


@dataclasses.dataclass(frozen=True)
class WindowSnapshot:
    stack: capacity.Snapshot  # the stack's processes, the broker and PostgreSQL with them
    loader_s: dict[str, float]  # the loader's own Sage side, per process
    machine_s: float  # every process on the machine (capacity.machine_busy_seconds)
    driver_s: float  # this process: the bench's own edits and readings


async def window_snapshot(bench: Bench, loader_side: Bench) -> WindowSnapshot:
    return WindowSnapshot(
        await capacity.snapshot(bench.dev, bench.pool),
        capacity.stack_cpu_seconds(loader_side.dev),
        capacity.machine_busy_seconds(),
        time.process_time(),
    )


def cores_by_process(before: WindowSnapshot, after: WindowSnapshot) -> dict[str, float]:
    """Cores each process kept busy between two snapshots, their total, the bench driver's,
    and the whole machine's (pure): what the small tenants' polls had to share."""
    seconds = after.stack.at - before.stack.at
    spent = capacity.cpu_spent(before.stack, after.stack)
    loader = {n: s - before.loader_s.get(n, 0.0) for n, s in after.loader_s.items()}
    spent |= {f"loader {name}": loader[name] for name in CUSTOMER_SIDE if name in loader}
    cores = {name: round(s / seconds, 2) for name, s in spent.items()}
    return cores | {
        "total": round(sum(spent.values()) / seconds, 2),
        "bench driver": round((after.driver_s - before.driver_s) / seconds, 2),
        "machine": round((after.machine_s - before.machine_s) / seconds, 2),
    }


async def measure(
    bench: Bench, loader_side: Bench, plan: FairnessPlan, rss: PeakRss
) -> dict[str, Any]:
    started, run_start = time.monotonic(), dt.datetime.now(dt.UTC)
    await loader_side.seed(plan.load_customers, 2)
    await loader_side.add_tenant(LOADER)
    await bench.set_latency(LOADER, plan.latency_ms)
    spent: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(keepalive_expiry=2)) as http:
        keys = await bounded(
            [partial(onboard, bench, n, plan, http, spent) for n in range(plan.tenants)],
            plan.onboard_concurrency,
        )
    onboarded = time.monotonic() - started
    names = [tenant_name(n) for n in range(plan.tenants)]
    print(f"  {plan.tenants} tenants onboarded in {onboarded:.0f}s; their initial loads")
    not_loaded = await wait_loaded(bench, names, plan.customers_per_tenant, 120 + plan.tenants)
    loaded = time.monotonic() - started - onboarded
    # Polls with nothing to carry: what the poller spends per tenant poll at steady state.
    quiet_s = 2 * plan.poll_seconds + 10  # two rounds: an interval per tenant's entity
    before = await capacity.snapshot(bench.dev, bench.pool)
    seen = await poll_times(bench, quiet_s)
    after = await capacity.snapshot(bench.dev, bench.pool)
    polls = max(1, sum(len(times) for times in seen.ends.values()))
    spent_cpu = capacity.cpu_spent(before, after)
    print(f"  loaded in {loaded:.0f}s; the window, with {LOADER}'s initial load")
    await set_enabled(bench.pool, LOADER, enabled=True)
    since = time.time()
    window_before = await window_snapshot(bench, loader_side)
    window_polls = asyncio.create_task(poll_times(bench, plan.window_s))
    changed_at = await run_window(bench, plan, keys, random.Random(11))
    window_cores = cores_by_process(window_before, await window_snapshot(bench, loader_side))
    seen_in_window = await window_polls
    # The polls that carry the window's last changes come after it: sampled while they arrive.
    after_window = asyncio.create_task(poll_times(bench, plan.bound_s + 10))
    latencies = await collect(bench, changed_at, since, within=plan.bound_s + 60)
    await asyncio.sleep(3)  # the audit log trails the writes
    stages, changes = await stage_times(bench, since, changed_at)
    carrying = seen_in_window.merged(await after_window)
    writer_log = (bench.dev.config.log_dir / "mlc-zoho-writer.log").read_text(errors="replace")
    window_start = dt.datetime.fromtimestamp(since, dt.UTC)
    loader = (await bench.zoho_stats(LOADER))["records"]
    figures = summarize(latencies, {t: len(k) for t, k in changed_at.items()}, bound_s=plan.bound_s)
    return {
        "plan": asdict(plan),
        "changes_per_tenant_per_hour": round(plan.changes_per_tenant_per_hour, 1),
        "onboard_seconds": round(onboarded, 1),
        "onboard_step_seconds_per_tenant": {
            k: round(v / plan.tenants, 3) for k, v in spent.items()
        },
        "initial_loads_seconds": round(loaded, 1),
        "not_loaded": not_loaded,
        "poller_cpu_ms_per_poll": round(spent_cpu["mlc-sage-poller"] * 1000 / polls, 3),
        "cpu_ms_per_poll": {name: round(s * 1000 / polls, 3) for name, s in spent_cpu.items()},
        "poll_interval_achieved_s": spread(poll_intervals(seen.ends)),
        "window_poll_interval_s": spread(poll_intervals(seen_in_window.ends)),
        "window_polls": seen_in_window.spreads(),
        "without_sage_time": without_sage_time(changes, carrying, bound_s=plan.bound_s),
        "window_cores_busy": window_cores,
        "loader": {
            "records": Load(plan.load_customers, 2 * plan.load_customers).records,
            "written_by_end": loader.get("Accounts", 0) + loader.get("Contacts", 0),
            "seconds": round(time.time() - since, 1),
        },
        **figures,
        "stages": {name: spread(values) for name, values in stages.items()},
        "writer_pauses": {
            "whole_run": writer_pauses(writer_log.splitlines(), run_start),
            "window": writer_pauses(writer_log.splitlines(), window_start),
        },
        "peak_rss_mib": rss.stop(),
    }


async def measure_fairness(
    *, admin_url: str, bootstrap: str, log_dir: Path, plan: FairnessPlan
) -> dict[str, Any]:
    """The scenario on a stack of its own (fresh database, fresh processes)."""
    print(f"fairness: {plan.tenants} tenants, one loading {3 * plan.load_customers:,} records")
    # `mlc zoho setup` runs in this process and checks its token calls against the Zoho host
    # allow-list like the services, which the dev stack tells about the emulator.
    os.environ.setdefault("MLC_ZOHO_ALLOWED_HOSTS", "127.0.0.1")
    async with throwaway_database(admin_url) as app_url:
        config = stack_config(
            bootstrap=bootstrap, app_url=app_url, log_dir=log_dir, poll_seconds=plan.poll_seconds
        )
        # In production each tenant has its own agent (4 BOI sessions) on its own Sage server;
        # here one agent serves every company, so it gets sessions enough to stand in for many
        # (with 4, the tenants' polls queue for its sessions, not for the poller). With 32 for
        # 1,000 companies most polls log on anew (7 more BOI calls); a session per company
        # (1,001 threads in one process) halved a quiet poll's agent CPU (8.8 to 4.1 ms) but
        # not its cost under the load (0.40 cores against 0.34), and that run's window came
        # out worse (200 tenants over the bound, against 2 in the run before it with 32;
        # the two runs also differ in the pool's reset), so the agent keeps 32.
        config.extra_env["MLC_AGENT_POOL_SIZE"] = str(AGENT_SESSIONS)
        # The dev stack re-reads the tenants every second (a test sees a new one at once); a
        # deployment every 30 s. With 1,000 tenants every second is work no deployment does.
        config.extra_env["MLC_TENANT_REFRESH_SECONDS"] = "30"
        dev = DevStack(config)
        # The loading tenant's customer has its own Sage server and agent, as every customer
        # does: sharing the small tenants' one emulator, its 150,000-row scans held their
        # Sage calls (docs/chaos.md found the same in the noisy-neighbour scenario).
        loader_dev = DevStack(
            dataclasses.replace(
                config,
                sage_port=free_port(),
                agent_port=free_port(),
                log_dir=log_dir / "loader-sage",
            )
        )
        try:
            dev.start_emulators()
            loader_dev.start_sage_side()
            dev.start_services()
            rss = PeakRss(dev).start()
            pool = await create_pool(app_url)
            try:
                # Idle connections are dropped before the emulators' servers close them (5 s),
                # or a request may go out on one the server is closing (httpx.ReadError).
                limits = httpx.Limits(keepalive_expiry=2)
                loader_url = loader_dev.config.sage_url
                async with (
                    httpx.AsyncClient(base_url=config.sage_url, timeout=600, limits=limits) as sage,
                    httpx.AsyncClient(base_url=loader_url, timeout=600, limits=limits) as own,
                    httpx.AsyncClient(base_url=config.zoho_url, timeout=120, limits=limits) as zoho,
                ):
                    keyring = KeyRing.parse(config.master_keys)
                    bench = Bench(dev, pool, keyring, sage, zoho)
                    loader = Bench(loader_dev, pool, keyring, own, zoho)
                    return await measure(bench, loader, plan, rss) | {"notes": bench.notes}
            finally:
                await pool.close()
        finally:
            dev.stop_all()
            loader_dev.stop_all()


def main(argv: list[str] | None = None) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="40 tenants, 3,000-record load")
    parser.add_argument("--tenants", type=int, default=None, help="small tenants (1,000)")
    parser.add_argument("--latency-ms", type=int, default=300, help="emulated Zoho latency")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = parser.parse_args(argv)
    plan = make_plan(quick=args.quick, tenants=args.tenants, latency_ms=args.latency_ms)
    log_dir = Path(os.environ.get("MLC_STATE_DIR", ".local/state")) / "bench-logs"
    fair = asyncio.run(
        measure_fairness(
            admin_url=env_or_exit("MLC_DATABASE_ADMIN_URL"),
            bootstrap=env_or_exit("MLC_KAFKA_BOOTSTRAP"),
            log_dir=log_dir,
            plan=plan,
        )
    )
    print("\n".join(render(fair)))
    if args.json is not None:
        args.json.write_text(json.dumps(fair, indent=2) + "\n")


if __name__ == "__main__":
    main()
