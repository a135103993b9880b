"""The capacity model's inputs, measured on the running stack, and the model itself.

Around a load of N records (the 0 ms initial load in `make bench`) it takes a snapshot of each
process's CPU time (user + system, psutil), the bytes of every Kafka topic's log segments on the
broker's disk, and the size of the audit tables in PostgreSQL; the differences divided by N are
the per-record inputs. `model` turns them, with the credits per change and the naive sync's
credits per record, into what a fleet of tenants needs (docs/capacity.md explains the formulas).
Everything below `snapshot` is pure, so tests/bench/test_capacity.py checks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil  # type: ignore[import-untyped]
from mlc_core.contracts import Topics
from mlc_devtools.devstack import DevStack

SERVICE_NAMES = ("mlc-sage-poller", "mlc-mapper", "mlc-zoho-writer", "mlc-audit")
AUDIT_BYTES_SQL = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relname LIKE 'audit%' AND n.nspname = current_schema()
"""
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Snapshot:
    at: float
    cpu_s: dict[str, float]  # every process of the stack, and the local broker and PostgreSQL
    topic_bytes: dict[str, int]
    audit_bytes: int


def listening_pids() -> dict[int, int]:
    """Local TCP port -> the process listening on it (one scan of the machine's sockets)."""
    found: dict[int, int] = {}
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.pid is not None:
                found.setdefault(conn.laddr.port, int(conn.pid))
    return found


def listener_pid(port: int) -> int | None:
    """The process listening on a local TCP port (PostgreSQL's postmaster, Kafka's JVM)."""
    return listening_pids().get(port)


def infrastructure_pids(*, bootstrap: str, database_url: str) -> dict[str, int]:
    """The local Kafka broker and PostgreSQL postmaster, by name (absent when not local)."""
    listening = listening_pids()
    ports = {
        "kafka-broker": int(bootstrap.rsplit(":", 1)[-1]),
        "postgresql": urlsplit(database_url).port or 5432,
    }
    return {name: listening[port] for name, port in ports.items() if port in listening}


def kafka_data_dir(broker_pid: int | None) -> Path | None:
    """The log.dirs of the local broker (read from the server.properties its command line
    names); None when the broker is not a local process of ours."""
    if broker_pid is None:
        return None
    try:
        args = psutil.Process(broker_pid).cmdline()
    except psutil.Error:
        return None
    for arg in args:
        if arg.endswith("server.properties") and Path(arg).is_file():
            for line in Path(arg).read_text().splitlines():
                if line.startswith("log.dirs="):
                    return Path(line.partition("=")[2].split(",")[0])
    return None


def infrastructure_cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time of the Kafka broker and the PostgreSQL cluster (`infrastructure_pids`): they
    share the machine's cores with the stack, so a bound that leaves them out can call a
    CPU-bound load one that "waits". PostgreSQL's backends come and go (a connection each):
    the postmaster's reaped children's times count them once they exit."""
    return {
        name: process_cpu_seconds(pid, reaped=name == "postgresql") for name, pid in pids.items()
    }


def process_cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU time of a process and its children (0 once it is gone); `reaped`
    adds the children that have exited (their times kept by the parent that waited for them)."""
    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        children = root.children(recursive=True)
    except psutil.Error:
        return 0.0
    total = float(times.user + times.system)
    if reaped:
        total += times.children_user + times.children_system
    for child in children:
        # A child that exits meanwhile (a PostgreSQL backend) is left out, not the whole tree:
        # the tree read as 0 makes a load's CPU negative (a scale-out run's cores busy came
        # out at -0.03, most likely so).
        with contextlib.suppress(psutil.Error):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    return total


def stack_cpu_seconds(dev: DevStack) -> dict[str, float]:
    """CPU time of each process the dev stack started."""
    return {name: process_cpu_seconds(proc.pid) for name, proc in dev.procs.items()}


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has spent since boot, all cores together
    (guest time is already in user time)."""
    t = psutil.cpu_times()
    counted = sum(t) - t.idle - getattr(t, "iowait", 0.0)
    return float(counted - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0))


def topic_bytes(data_dir: Path | None) -> dict[str, int]:
    """Bytes of each mlc topic's log segments (.log files; index files are preallocated)."""
    sizes = dict.fromkeys((str(t) for t in Topics), 0)
    if data_dir is None or not data_dir.is_dir():
        return sizes
    for partition in data_dir.iterdir():
        topic, _, number = partition.name.rpartition("-")
        if topic in sizes and number.isdigit():
            sizes[topic] += sum(f.stat().st_size for f in partition.glob("*.log"))
    return sizes


async def snapshot(dev: DevStack, pool: asyncpg.Pool) -> Snapshot:
    infra = infrastructure_pids(
        bootstrap=dev.config.kafka_bootstrap, database_url=dev.config.database_url
    )
    cpu = stack_cpu_seconds(dev) | infrastructure_cpu_seconds(infra)
    audit = int(await pool.fetchval(AUDIT_BYTES_SQL))
    data_dir = kafka_data_dir(infra.get("kafka-broker"))
    return Snapshot(time.monotonic(), cpu, topic_bytes(data_dir), audit)


async def settled(
    dev: DevStack, pool: asyncpg.Pool, *, quiet_s: float = 3.0, within: float = 120
) -> Snapshot:
    """A snapshot once the audit log has stopped growing for `quiet_s` (it trails the writes)."""
    last = await snapshot(dev, pool)
    since, deadline = time.monotonic(), time.monotonic() + within
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = await snapshot(dev, pool)
        if now.audit_bytes != last.audit_bytes or now.topic_bytes != last.topic_bytes:
            since = time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
        last = now
    return last


def cpu_spent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds each process spent between two snapshots (one started since: all of its)."""
    return {name: after.cpu_s[name] - before.cpu_s.get(name, 0.0) for name in after.cpu_s}


def cores_busy(before: Snapshot, after: Snapshot) -> float:
    """Cores the whole machine's measured processes (stack, broker, PostgreSQL) kept busy
    between two snapshots (pure): near the machine's count, the CPU is what bounds a load, and
    more replicas can only share it."""
    seconds = after.at - before.at
    spent = sum(cpu_spent(before, after).values())
    return round(spent / seconds, 2) if seconds > 0 else 0.0


def per_record(before: Snapshot, after: Snapshot, *, records: int, cores: int) -> dict[str, Any]:
    """The model's per-record inputs from two snapshots around a load of `records` (pure)."""
    if records <= 0:
        raise ValueError("per-record figures need at least one record")
    seconds = after.at - before.at
    cpu = cpu_spent(before, after)
    kafka = {t: after.topic_bytes[t] - before.topic_bytes.get(t, 0) for t in after.topic_bytes}
    return {
        "records": records,
        "seconds": round(seconds, 1),
        "cpu_us_per_record": {n: round(s * 1e6 / records, 1) for n, s in cpu.items()},
        "cores_busy": {n: round(s / seconds, 2) for n, s in cpu.items()} if seconds > 0 else {},
        "bound": bound(cpu, seconds, cores=cores),
        "kafka_bytes_per_record": {t: round(b / records, 1) for t, b in kafka.items()},
        "audit_bytes_per_record": round((after.audit_bytes - before.audit_bytes) / records, 1),
    }


def bound(cpu_s: dict[str, float], seconds: float, *, cores: int) -> str:
    """What limited a load with no Zoho latency: the machine when its cores were nearly all
    busy, else the busiest process when it kept one core (asyncio runs on one) nearly full."""
    if seconds <= 0 or not cpu_s:
        return "unknown (nothing timed)"
    busy = {name: s / seconds for name, s in cpu_s.items()}
    total = sum(busy.values())
    name, top = max(busy.items(), key=lambda item: item[1])
    if total >= 0.85 * cores:
        return f"the machine's CPU: {total:.2f} of {cores} cores busy (busiest {name}, {top:.2f})"
    if top >= 0.85:
        return f"{name}: {top:.2f} of its one core"
    return f"neither CPU ({total:.2f} of {cores} cores; busiest {name}, {top:.2f}): waits"


@dataclass(frozen=True)
class Fleet:
    """The fleet the model sizes; every field is an assumption, stated in docs/capacity.md."""

    tenants: int = 10_000
    records_per_tenant: int = 150_000  # 50,000 customers with two contacts each
    daily_change: float = 0.01
    peak_to_mean: float = 10.0  # business hours and month ends concentrate the changes
    core_per_replica: float = 0.7  # keep a replica below this share of its one core
    kafka_replication: int = 3
    kafka_retention_days: int = 7  # the broker's default (log.retention.hours=168)
    audit_months_kept: int = 12
    naive_runs_per_day: int = 96  # the naive reference: everything every 15 minutes
    polled_entities: int = 2  # the benchmark's: AR customers and their contacts
    poll_cadence_s: float = 900.0  # their default cadence (15 minutes)

    @property
    def changes_per_day(self) -> float:
        return self.tenants * self.records_per_tenant * self.daily_change


def credits_per_day(
    *,
    records: int,
    daily_change: float,
    credits_per_1000: float,
    naive_credits_per_record: float,
    naive_runs_per_day: int,
) -> dict[str, float]:
    """One tenant's steady-state Zoho credits per day, ours against the naive sync (pure)."""
    ours = records * daily_change * credits_per_1000 / 1000
    naive = naive_runs_per_day * records * naive_credits_per_record
    return {
        "changes_per_day": records * daily_change,
        "ours": round(ours, 1),
        "naive": round(naive, 1),
        "naive_to_ours": round(naive / ours, 1) if ours > 0 else math.inf,
    }


def model(inputs: dict[str, Any], credits: dict[str, float], fleet: Fleet) -> dict[str, Any]:
    """What `fleet` needs at the measured per-record costs (pure; formulas in docs/capacity.md)."""
    mean_per_s = fleet.changes_per_day / SECONDS_PER_DAY
    peak_per_s = mean_per_s * fleet.peak_to_mean
    replicas = {
        name: max(1, math.ceil(peak_per_s * us / 1e6 / fleet.core_per_replica))
        for name, us in inputs["cpu_us_per_record"].items()
        if name in SERVICE_NAMES
    }
    kafka_per_record = sum(inputs["kafka_bytes_per_record"].values())
    broker_day = fleet.changes_per_day * kafka_per_record * fleet.kafka_replication
    audit_day = fleet.changes_per_day * inputs["audit_bytes_per_record"]
    consumers = max(replicas.get("mlc-mapper", 1), replicas.get("mlc-zoho-writer", 1))
    return {
        "fleet": fleet.__dict__,
        "changes_per_day": round(fleet.changes_per_day),
        "mean_changes_per_s": round(mean_per_s, 1),
        "peak_changes_per_s": round(peak_per_s, 1),
        "replicas": replicas,
        "partitions": max(6, 2 * consumers),
        "broker_disk_gib_per_day": round(broker_day / 2**30, 2),
        "broker_disk_gib_retained": round(broker_day * fleet.kafka_retention_days / 2**30, 1),
        "audit_gib_per_day": round(audit_day / 2**30, 2),
        "audit_gib_retained": round(audit_day * 30 * (fleet.audit_months_kept + 1) / 2**30, 1),
        "credits_per_tenant_per_day": credits["ours"],
        "credits_fleet_per_day": round(credits["ours"] * fleet.tenants),
    }


def poller_model(cpu_ms_per_poll: float, fleet: Fleet) -> dict[str, float]:
    """The poller's share (one replica runs every tenant loop): polls per second at the
    cadence, times the CPU one poll that finds nothing costs (measured by bench/fairness.py)."""
    polls_per_s = fleet.tenants * fleet.polled_entities / fleet.poll_cadence_s
    return {
        "poller_cpu_ms_per_poll": cpu_ms_per_poll,
        "poller_polls_per_s": round(polls_per_s, 1),
        "poller_idle_cores": round(polls_per_s * cpu_ms_per_poll / 1000, 2),
    }


def section(
    inputs: dict[str, Any], per_change: dict[str, Any], naive: dict[str, Any], fleet: Fleet
) -> dict[str, Any]:
    """results["capacity"]: the measured inputs, the steady-state credits and the model."""
    credits = credits_per_day(
        records=fleet.records_per_tenant,
        daily_change=fleet.daily_change,
        credits_per_1000=per_change["credits_per_1000"],
        naive_credits_per_record=naive["credits_per_1000"] / 1000,
        naive_runs_per_day=fleet.naive_runs_per_day,
    )
    return {"inputs": inputs, "credits_per_day": credits, "model": model(inputs, credits, fleet)}


def render(capacity: dict[str, Any]) -> list[str]:
    """Markdown lines for results.md (and what `make bench` prints)."""
    inputs, credits, fleet = capacity["inputs"], capacity["credits_per_day"], capacity["model"]
    lines = [
        f"Measured over {inputs['records']:,} records in {inputs['seconds']} s at 0 ms Zoho"
        f" latency; bound by {inputs['bound']}.",
        "",
        "| process | CPU µs per record | cores busy |",
        "|---|---|---|",
        *(
            f"| {name} | {us:,.1f} | {inputs['cores_busy'].get(name, '-')} |"
            for name, us in inputs["cpu_us_per_record"].items()
        ),
        "",
        "| Kafka topic | bytes per record |",
        "|---|---|",
        *(f"| {t} | {b:,.1f} |" for t, b in inputs["kafka_bytes_per_record"].items()),
        "",
        f"Audit: {inputs['audit_bytes_per_record']:,.1f} bytes per record in PostgreSQL.",
        "",
        f"Steady state, one tenant of {fleet['fleet']['records_per_tenant']:,} records at"
        f" {fleet['fleet']['daily_change']:.0%} daily change"
        f" ({credits['changes_per_day']:,.0f} changes): **{credits['ours']:,.1f} credits/day**;"
        f" the naive sync (all of it every 15 min) {credits['naive']:,.0f} credits/day,"
        f" {credits['naive_to_ours']:,.0f} times as many.",
        "",
        f"{fleet['fleet']['tenants']:,} such tenants: {fleet['changes_per_day']:,} changes/day"
        f" (peak {fleet['peak_changes_per_s']:,} /s); replicas {fleet['replicas']};"
        f" {fleet['partitions']} partitions; broker disk {fleet['broker_disk_gib_per_day']} GiB/day"
        f" ({fleet['broker_disk_gib_retained']} GiB retained); audit"
        f" {fleet['audit_gib_per_day']} GiB/day ({fleet['audit_gib_retained']} GiB kept)."
        " docs/capacity.md has the formulas.",
    ]
    if "poller_idle_cores" in fleet:
        lines.append(
            f"Polling alone: {fleet['poller_polls_per_s']} polls/s at"
            f" {fleet['poller_cpu_ms_per_poll']} ms each, {fleet['poller_idle_cores']} cores"
            " of the poller's one replica."
        )
    return lines
