"""Scale-out: the initial load with 1, 2 and 4 replicas of mapper and writer (one consumer group
each, as Kubernetes or Compose would run them), at the Zoho latency of the main run.

Each replica count loads a tenant of its own from the same Sage company, after the added
replicas have joined their consumer groups and the writers count each other in (they share
the org's Zoho concurrency by themselves: zoho_writer/replicas.py). The org's ceiling does not
grow with replicas; what replicas add is headroom below it (CPU, a slow replica's share). The
usable ceiling is the org's concurrency as the replicas split it: each takes min(edition, 10)
divided by their count, rounded down (10 over 4 replicas is 2 each: 8 calls, not 10).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from mapper import GROUP_ID as MAPPER_GROUP
from mlc_core.tenants import set_enabled
from mlc_devtools.devstack import replica_names
from mlc_ops.offsets import group_members
from zoho_writer import GROUP_ID as WRITER_GROUP
from zoho_writer.admin import live_replicas

from bench.figures import ZOHO_HEAVY_CONCURRENCY, ceiling_records_per_second, ratio
from bench.scenarios import Load, initial_load
from bench.stack import Bench

REPLICAS = (1, 2, 4)
SCALED = ("mlc-mapper", "mlc-zoho-writer")


async def scale_out(
    bench: Bench, load: Load, *, latency_ms: int, within: float, counts: Sequence[int] = REPLICAS
) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for count in counts:
        await scale_to(bench, count)
        tenant = f"bench-x{count}"
        await bench.add_tenant(tenant)
        figures = await initial_load(bench, tenant, load, latency_ms=latency_ms, within=within)
        await set_enabled(bench.pool, tenant, enabled=False)
        runs[str(count)] = per_replica(figures, count)
        print(
            f"  {count} replica(s): {figures['records_per_s']:,} records/s,"
            f" {runs[str(count)]['records_per_s_per_replica']:,} per replica,"
            f" {figures['cores_busy']} cores busy"
        )
    return {"latency_ms": latency_ms, "runs": runs}


def per_replica(figures: dict[str, Any], replicas: int) -> dict[str, Any]:
    """One load's figures with what `replicas` replicas of each service make of them (pure)."""
    latency_s = figures["latency_ms"] / 1000
    usable = replicas * max(1, ZOHO_HEAVY_CONCURRENCY // replicas)
    usable_ceiling = ceiling_records_per_second(latency_s, concurrency=min(usable, 10))
    measured = figures["records_per_s"]
    of_usable = ratio(measured, usable_ceiling)
    return figures | {
        "replicas": replicas,
        "records_per_s_per_replica": round(measured / replicas, 1),
        "usable_ceiling_records_per_s": round(usable_ceiling, 1) if of_usable is not None else None,
        "ratio_to_usable_ceiling": None if of_usable is None else round(of_usable, 3),
    }


async def scale_to(bench: Bench, count: int, *, within: float = 120) -> None:
    """Start replicas up to `count` of mapper and writer; return once both consumer groups are
    stable with `count` members and the writers count `count` live replicas."""
    for name in SCALED:
        for instance in replica_names(name, count):
            bench.dev.start(instance)
    bootstrap = bench.dev.config.kafka_bootstrap
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        groups = [await group_members(bootstrap, g) for g in (MAPPER_GROUP, WRITER_GROUP)]
        if all(g == ("Stable", count) for g in groups) and await live_replicas(bench.pool) == count:
            return
        if bench.dead_services():
            raise RuntimeError(f"services died: {bench.dead_services()}")
        await asyncio.sleep(1)
    bench.notes.append(f"scale-out: {count} replicas not all ready within {within:.0f} s")


def render(scale: dict[str, Any] | None) -> list[str]:
    """The results.md section (empty for results from before this scenario)."""
    if not scale:
        return []
    rows = [
        (
            str(run["replicas"]),
            f"{run['records_written']:,}/{run['records_expected']:,}",
            f"{run['seconds']:,.1f} s",
            f"{run['records_per_s']:,.1f}",
            f"{run['records_per_s_per_replica']:,.1f}",
            _percent(run["ratio_to_ceiling"]),
            _percent(run["ratio_to_usable_ceiling"]),
            f"{run['zoho_max_in_flight']}",
            f"{run['zoho_429']:,}",
            f"{run['cores_busy']}" if "cores_busy" in run else "-",
        )
        for run in scale["runs"].values()
    ]
    header = (
        "replicas of mapper and writer",
        "records in Zoho",
        "time",
        "records/s",
        "records/s per replica",
        "of ceiling",
        "of usable ceiling",
        "most calls in flight",
        "429s",
        "cores busy",
    )
    lines = [
        "## Scale-out: 1, 2 and 4 replicas",
        f"The initial load at Zoho latency {scale['latency_ms']} ms with that many replicas of"
        " mapper and writer (one consumer group each); each count loads its own tenant. The"
        " writers share the org's concurrency by themselves: the usable ceiling is min(edition,"
        " 10) split evenly and rounded down (8 of 10 calls with 4 replicas). Cores busy: every"
        " measured process (services, replicas, emulators, agent, Kafka, PostgreSQL) over the"
        " load; near the machine's cores, added replicas can only share them.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
