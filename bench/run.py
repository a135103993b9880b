"""`make bench`: the whole pipeline measured end to end (a script, not a test).

    deploy/local/bench.sh [--scale 1.0] [--quick] [--out docs/bench]    # starts Kafka + PostgreSQL
    .venv/bin/python -m bench.run [...]     # on a running Kafka/PostgreSQL (MLC_KAFKA_BOOTSTRAP,
                                            # MLC_DATABASE_ADMIN_URL as deploy/local/up.sh prints)

Runs the Sage emulator, the agent, the Zoho emulator and the four services as separate processes
on real Kafka and a throwaway PostgreSQL database, seeds one company (50,000 customers with two
contacts each at scale 1.0) and measures: the initial load at Zoho latency 0 and at 300 ms
(Enterprise limits) against Zoho's ceiling, calls and credits per 1,000 changed customers and for
an idle re-poll, change latency at a 1 s poll interval, each service's peak RSS, the initial load
with 1, 2 and 4 replicas of mapper and writer (bench/scale_out.py), and a naive sequential
one-call-per-record sync of a sample. Writes results.json, results.md and
throughput.png to --out (docs/bench). See docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool
from mlc_core.tenants import set_enabled
from mlc_devtools.devstack import DevStack

from bench import capacity, fairness, machine, report
from bench.naive_sync import naive_figures
from bench.scale_out import scale_out
from bench.scenarios import (
    Load,
    calls_per_change,
    change_latency,
    idle_repoll,
    initial_load,
)
from bench.stack import Bench, PeakRss, env_or_exit, stack_config, throwaway_database

FULL_CUSTOMERS = 50_000
CONTACTS_PER_CUSTOMER = 2
QUICK_SCALE = 0.01
FAST, SLOW = "bench-l0", "bench-l300"


@dataclass(frozen=True)
class Plan:
    """What one run does, derived from the flags (pure)."""

    scale: float
    customers: int
    contacts: int
    latency_ms: int
    poll_seconds: float
    changed: int
    latency_changes: int
    latency_spacing_s: float
    naive_sample: int
    replicas: tuple[int, ...] = (1, 2, 4)

    @property
    def load(self) -> Load:
        return Load(self.customers, self.contacts)

    @property
    def load_timeout(self) -> float:
        # Only a safety net against a stuck stack: 50 records/s would be far below anything
        # this pipeline does even on a loaded machine.
        return 180 + self.load.records / 50


def make_plan(args: argparse.Namespace) -> Plan:
    scale = QUICK_SCALE if args.quick else args.scale
    if not 0 < scale <= 2:
        raise SystemExit("--scale must be within (0, 2]")
    customers = max(10, round(FULL_CUSTOMERS * scale))
    contacts = customers * CONTACTS_PER_CUSTOMER
    return Plan(
        scale=scale,
        customers=customers,
        contacts=contacts,
        latency_ms=args.latency_ms,
        poll_seconds=args.poll_seconds,
        changed=min(1000, customers),
        latency_changes=min(40 if args.quick else 200, customers),
        latency_spacing_s=0.25,
        naive_sample=min(customers + contacts, args.naive_sample or (60 if args.quick else 600)),
        replicas=replica_counts(args.replicas),
    )


def replica_counts(text: str) -> tuple[int, ...]:
    """ "1,2,4" -> (1, 2, 4); each count 1..8 (pure)."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise SystemExit(f"--replicas {text!r}: comma-separated whole numbers") from None
    if not counts or not all(1 <= c <= 8 for c in counts):
        raise SystemExit(f"--replicas {text!r}: each count from 1 to 8")
    return counts


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full load")
    parser.add_argument("--quick", action="store_true", help=f"smoke run at scale {QUICK_SCALE}")
    parser.add_argument("--out", type=Path, default=Path("docs/bench"), help="results directory")
    parser.add_argument("--latency-ms", type=int, default=300, help="emulated Zoho latency")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="poll interval")
    parser.add_argument(
        "--naive-sample", type=int, default=0, help="records the naive sync runs (600; quick 60)"
    )
    parser.add_argument(
        "--only",
        choices=["calls", "scale"],
        help="calls: only the --latency-ms load and calls per change; scale: only the scale-out",
    )
    parser.add_argument(
        "--replicas",
        default="1,2,4",
        help="replica counts the scale-out runs, comma-separated (default 1,2,4)",
    )
    return parser.parse_args(argv)


async def measure(
    bench: Bench, plan: Plan, rss: PeakRss, only: str | None = None
) -> dict[str, Any]:
    rng = random.Random(7)
    started = time.monotonic()
    keys = await bench.seed(plan.customers, CONTACTS_PER_CUSTOMER)
    seed_seconds = time.monotonic() - started
    if only == "calls":  # a cheap check of the writer's batching: prints, writes nothing
        await bench.add_tenant(SLOW)
        load = await initial_load(
            bench, SLOW, plan.load, latency_ms=plan.latency_ms, within=plan.load_timeout
        )
        per_change = await calls_per_change(bench, SLOW, keys, plan.changed, rng)
        return {"initial_load": load, "calls_per_change": per_change}
    if only == "scale":  # the replicas' scenario alone
        return {
            "scale_out": await scale_out(
                bench,
                plan.load,
                latency_ms=plan.latency_ms,
                within=plan.load_timeout,
                counts=plan.replicas,
            )
        }
    for tenant in (FAST, SLOW):
        await bench.add_tenant(tenant)
    print(f"seeded {plan.load.records:,} records in {seed_seconds:.0f}s; initial load at 0 ms")
    before = await capacity.snapshot(bench.dev, bench.pool)
    fast = await initial_load(bench, FAST, plan.load, latency_ms=0, within=plan.load_timeout)
    after = await capacity.settled(bench.dev, bench.pool)  # the audit log trails the writes
    cores = os.cpu_count() or 1
    load_cost = capacity.per_record(before, after, records=plan.load.records, cores=cores)
    await set_enabled(bench.pool, FAST, enabled=False)
    print(f"  {fast['records_per_s']:,} records/s; initial load at {plan.latency_ms} ms")
    slow = await initial_load(
        bench, SLOW, plan.load, latency_ms=plan.latency_ms, within=plan.load_timeout
    )
    print(f"  {slow['records_per_s']:,} records/s; {plan.changed} changes")
    per_change = await calls_per_change(bench, SLOW, keys, plan.changed, rng)
    # A poll round re-reads the stamps through the agent, which scans the whole table on the
    # emulated BOI: at full scale one round takes far longer than the 1 s interval.
    idle = await idle_repoll(bench, SLOW, polls=3, within=300)
    print(f"  {per_change['calls_per_1000']} calls/1000; idle {idle['calls']}; latency")
    latency = await change_latency(
        bench,
        SLOW,
        keys,
        changes=plan.latency_changes,
        spacing_s=plan.latency_spacing_s,
        poll_seconds=plan.poll_seconds,
        rng=rng,
    )
    await set_enabled(bench.pool, SLOW, enabled=False)
    peaks = rss.stop()
    print(f"  p50 {latency.get('p50_s')} s p99 {latency.get('p99_s')} s; scale-out")
    scaled = await scale_out(
        bench, plan.load, latency_ms=plan.latency_ms, within=plan.load_timeout, counts=plan.replicas
    )
    print("  naive sync")
    naive = await naive_figures(
        bench,
        plan.load,
        sample=plan.naive_sample,
        latency_ms=plan.latency_ms,
        full_read_seconds=fast["sage_poll_seconds"],
    )
    sized = capacity.section(load_cost, per_change, naive, capacity.Fleet())
    print("capacity model inputs:", *capacity.render(sized), sep="\n  ")
    return {
        "capacity": sized,
        "seed_seconds": round(seed_seconds, 1),
        "throughput": {"latency_0ms": fast, f"latency_{plan.latency_ms}ms": slow},
        "calls_per_change": per_change,
        "idle_repoll": idle,
        "change_latency": latency,
        "peak_rss_mib": peaks,
        "scale_out": scaled,
        "naive": naive,
    }


async def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    plan = make_plan(args)
    admin_url = env_or_exit("MLC_DATABASE_ADMIN_URL")
    bootstrap = env_or_exit("MLC_KAFKA_BOOTSTRAP")
    started_at, started = dt.datetime.now(dt.UTC), time.monotonic()
    described = await machine.describe(admin_url)
    log_dir = Path(os.environ.get("MLC_STATE_DIR", ".local/state")) / "bench-logs"
    os.environ.setdefault("MLC_ZOHO_ALLOWED_HOSTS", "127.0.0.1")  # setup runs in this process
    async with throwaway_database(admin_url) as app_url:
        config = stack_config(
            bootstrap=bootstrap, app_url=app_url, log_dir=log_dir, poll_seconds=plan.poll_seconds
        )
        dev = DevStack(config)
        try:
            results = await run_stack(dev, app_url, plan, args.only)
        finally:
            dev.stop_all()
    fair_plan = fairness.make_plan(quick=args.quick, latency_ms=args.latency_ms)
    try:
        results["fairness"] = await fairness.measure_fairness(
            admin_url=admin_url, bootstrap=bootstrap, log_dir=log_dir, plan=fair_plan
        )
    except Exception as exc:  # the other sections' figures are still worth writing
        results["notes"].append(f"fairness: FAILED ({type(exc).__name__}: {exc})")
    else:
        results["capacity"]["model"] |= capacity.poller_model(
            results["fairness"]["poller_cpu_ms_per_poll"], capacity.Fleet()
        )
    described["load_average_end"] = machine.load_average()
    notes = results.pop("notes")
    return {
        "run": {
            "command": " ".join(
                [os.environ.get("MLC_BENCH_COMMAND", "python -m bench.run"), *argv]
            ),
            "started_at": started_at.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - started, 1),
            "plan": asdict(plan),
            "scale": plan.scale,
            "load": {
                "customers": plan.customers,
                "contacts": plan.contacts,
                "records": plan.load.records,
            },
            "edition": "enterprise",
            "seed_seconds": results.pop("seed_seconds"),
            "logs": str(log_dir),
        },
        "machine": described,
        **results,
        "notes": notes + auto_notes(results, described),
    }


async def run_stack(
    dev: DevStack, app_url: str, plan: Plan, only: str | None = None
) -> dict[str, Any]:
    dev.start_emulators()
    dev.start_services()  # they join their consumer groups while the company is seeded
    rss = PeakRss(dev).start()
    pool = await create_pool(app_url)
    try:
        async with (
            httpx.AsyncClient(base_url=dev.config.sage_url, timeout=600) as sage,
            httpx.AsyncClient(base_url=dev.config.zoho_url, timeout=120) as zoho,
        ):
            bench = Bench(dev, pool, KeyRing.parse(dev.config.master_keys), sage, zoho)
            results = await measure(bench, plan, rss, only)
            return results | {"notes": bench.notes}
    finally:
        await pool.close()


def auto_notes(results: dict[str, Any], described: dict[str, Any]) -> list[str]:
    """What a reader should know to read the figures (derived from them)."""
    notes = []
    cores = described["logical_cores"] or 1
    load = described["load_average_start"][0]
    if load > cores / 2:
        notes.append(
            f"The machine was busy: load average {load} at start on {cores} logical cores"
            " (shared with other work), so every figure here is depressed."
        )
    for name, run in results["throughput"].items():
        poll = run["sage_poll_seconds"]
        if poll and run["seconds"] and poll >= 0.8 * run["seconds"]:
            # Not "Sage bounded the load": the poller paces a bulk poll's later pages by the
            # pipeline's backlog (MLC_POLL_PACE_SECONDS of its pace, at most
            # MLC_POLL_PACE_BACKLOG), so a poll that lasts the whole load
            # is what a pipeline-bound load looks like too.
            notes.append(
                f"{name}: the Sage initial poll (through the agent and the emulated BOI,"
                f" {run['sage_poll_records_per_s']:,} records/s) took {poll:.0f} of"
                f" {run['seconds']:.0f} s. Its later pages wait while the pipeline is backed up"
                " (pacing), so it keeps the pipeline's pace whichever side is slower; the"
                " targets table names the measured bound."
            )
        if not run["complete"]:
            notes.append(f"{name}: INCOMPLETE, only {run['records_written']:,} records arrived.")
    return notes


async def _only(args: argparse.Namespace) -> dict[str, Any]:
    plan = make_plan(args)
    admin_url = env_or_exit("MLC_DATABASE_ADMIN_URL")
    bootstrap = env_or_exit("MLC_KAFKA_BOOTSTRAP")
    log_dir = Path(os.environ.get("MLC_STATE_DIR", ".local/state")) / "bench-logs"
    async with throwaway_database(admin_url) as app_url:
        config = stack_config(
            bootstrap=bootstrap, app_url=app_url, log_dir=log_dir, poll_seconds=plan.poll_seconds
        )
        dev = DevStack(config)
        try:
            return await run_stack(dev, app_url, plan, args.only)
        finally:
            dev.stop_all()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    # SIGTERM (a CI job cancelled, `kill`) stops the stack like Ctrl-C does, not leaving it behind.
    signal.signal(signal.SIGTERM, _interrupt)
    if args.only:
        only_results = asyncio.run(_only(args))
        print(json.dumps(only_results, indent=2))
        return
    results = asyncio.run(run(args, argv))
    missing = report.missing_sections(results)
    for path in report.write(results, args.out):
        print(f"wrote {path}")
    if missing:
        raise SystemExit(f"results lack sections: {', '.join(missing)}")


if __name__ == "__main__":
    main()
