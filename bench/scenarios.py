"""What the benchmark measures on the running stack, one scenario each: the initial load, calls
and credits per changed record, an idle re-poll, and the change latency."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mlc_core.contracts import Topics
from mlc_core.kafka import create_consumer
from mlc_core.tenants import set_enabled

from bench import capacity
from bench.figures import (
    ceiling_records_per_second,
    ideal_calls,
    latency_summary,
    per_thousand,
    rate,
    ratio,
)
from bench.stack import COMPANY, ENTITIES, Bench


@dataclass(frozen=True)
class Load:
    customers: int
    contacts: int

    @property
    def records(self) -> int:
        return self.customers + self.contacts


def counters(stats: dict[str, Any]) -> dict[str, int]:
    limits = stats["limits"]
    return {
        "calls": int(stats["calls"]["total"]),
        "credits": int(limits["credits_used_total"]),
        "rejected_429": int(limits["rejected_concurrency"] + limits["rejected_sub_concurrency"]),
    }


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    now, then = counters(after), counters(before)
    return {name: now[name] - then[name] for name in now}


def epoch(value: dt.datetime) -> float:
    return value.timestamp()


async def initial_load(
    bench: Bench, tenant: str, load: Load, *, latency_ms: int, within: float
) -> dict[str, Any]:
    """Enable the tenant (its poller starts within a second) and wait until Zoho holds every
    customer and contact; timed from enabling to the last record's write in Zoho. With the
    cores every measured process kept busy over it: what says whether the CPU bounded it."""
    await bench.set_latency(tenant, latency_ms)
    before = await bench.zoho_stats(tenant)
    cpu_before = await capacity.snapshot(bench.dev, bench.pool)
    started = time.time()
    await set_enabled(bench.pool, tenant, enabled=True)
    poll_done: dict[str, float] = {}
    complete, deadline = False, time.monotonic() + within
    while time.monotonic() < deadline and not bench.dead_services():
        for entity, at in (await bench.poll_successes(tenant)).items():
            if at is not None and epoch(at) >= started:
                poll_done.setdefault(entity, epoch(at))  # the first full poll's end
        held = (await bench.zoho_stats(tenant))["records"]
        if held.get("Accounts", 0) >= load.customers and held.get("Contacts", 0) >= load.contacts:
            complete = True
            break
        await asyncio.sleep(0.5)
    busy = capacity.cores_busy(cpu_before, await capacity.snapshot(bench.dev, bench.pool))
    after = await bench.zoho_stats(tenant)
    return load_figures(
        load=load,
        latency_ms=latency_ms,
        started=started,
        writes=await writes_since(bench, tenant, started),
        poll_end=max(poll_done.values()) if len(poll_done) == len(ENTITIES) else None,
        calls=delta(after, before) | {"max_in_flight": int(after["limits"]["max_in_flight"])},
        complete=complete,
    ) | {"cores_busy": busy}


async def writes_since(bench: Bench, tenant: str, since: float) -> list[float]:
    accounts = await bench.written_since(tenant, "Accounts", since)
    contacts = await bench.written_since(tenant, "Contacts", since)
    return [*accounts.values(), *contacts.values()]


def load_figures(
    *,
    load: Load,
    latency_ms: int,
    started: float,
    writes: list[float],
    poll_end: float | None,
    calls: dict[str, int],
    complete: bool,
) -> dict[str, Any]:
    """The initial load's figures from its raw timings (pure)."""
    last = max(writes, default=started)
    seconds = last - started
    measured = rate(len(writes), seconds)
    ceiling = ceiling_records_per_second(latency_ms / 1000)
    poll_seconds = None if poll_end is None else poll_end - started
    return {
        "latency_ms": latency_ms,
        "records_expected": load.records,
        "records_written": len(writes),
        "complete": complete,
        "seconds": round(seconds, 2),
        "records_per_s": round(measured, 1),
        "ceiling_records_per_s": None if ceiling == float("inf") else round(ceiling, 1),
        "ratio_to_ceiling": _round(ratio(measured, ceiling), 3),
        "first_write_after_s": round(min(writes, default=started) - started, 2),
        "sage_poll_seconds": _round(poll_seconds, 2),
        "sage_poll_records_per_s": _round(
            None if not poll_seconds else load.records / poll_seconds, 1
        ),
        "zoho_calls": calls["calls"],
        "zoho_credits": calls["credits"],
        "zoho_429": calls["rejected_429"],
        "zoho_max_in_flight": calls["max_in_flight"],
        "ideal_calls": ideal_calls(load.customers) + ideal_calls(load.contacts),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


async def wait_quiet(
    bench: Bench, tenant: str, *, quiet_for: float = 3.0, within: float = 120
) -> None:
    """Until the org has seen no Zoho call for `quiet_for` seconds."""
    deadline = time.monotonic() + within
    last = counters(await bench.zoho_stats(tenant))["calls"]
    since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        calls = counters(await bench.zoho_stats(tenant))["calls"]
        if calls != last:
            last, since = calls, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return
    bench.notes.append(f"{tenant}: Zoho calls did not settle within {within:.0f}s")


async def wait_written(
    bench: Bench, tenant: str, keys: list[str], since: float, within: float
) -> dict[str, float]:
    """Until every key's account was written at or after `since`; returns what was written."""
    deadline = time.monotonic() + within
    while True:
        written = await bench.written_since(tenant, "Accounts", since)
        if all(k in written for k in keys) or time.monotonic() > deadline:
            return written
        if bench.dead_services():
            raise RuntimeError(f"services died: {bench.dead_services()}")
        await asyncio.sleep(0.25)


_changes = itertools.count()


def changed_customer(key: str) -> dict[str, str]:
    """A patch that changes what Zoho holds for the customer (a new phone number, unique per
    change), so every change is a real write. (The emulator's random edits may touch only
    columns the mapping leaves out, which the writer rightly skips.)"""
    division, _, number = key.partition("-")
    n = next(_changes)
    phone = f"(555) {100 + n // 10_000 % 900:03d}-{n % 10_000:04d}"
    return {"ARDivisionNo": division, "CustomerNo": number, "TelephoneNo": phone}


async def change(bench: Bench, keys: list[str]) -> None:
    """Edit these customers in Sage, stamping DateUpdated/TimeUpdated as Sage does."""
    body = {"records": [changed_customer(key) for key in keys], "touch_stamps": True}
    path = f"/_emulator/companies/{COMPANY}/ar_customers"
    (await bench.sage.post(path, json=body)).raise_for_status()


async def calls_per_change(
    bench: Bench, tenant: str, keys: list[str], changed: int, rng: random.Random
) -> dict[str, Any]:
    """Change `changed` customers (values and stamps) in Sage at once; count Zoho's calls and
    credits until all are written and the org is quiet again."""
    await wait_quiet(bench, tenant)
    chosen = rng.sample(keys, min(changed, len(keys)))
    before, started = await bench.zoho_stats(tenant), time.time()
    await change(bench, chosen)
    written = await wait_written(bench, tenant, chosen, started, within=600)
    seconds = max([written[k] for k in chosen if k in written], default=started) - started
    await wait_quiet(bench, tenant)
    used = delta(await bench.zoho_stats(tenant), before)
    n = len(chosen)
    return {
        "changed": n,
        "written": sum(k in written for k in chosen),
        "seconds": round(seconds, 2),
        "calls": used["calls"],
        "credits": used["credits"],
        "calls_per_1000": round(per_thousand(used["calls"], n), 1),
        "credits_per_1000": round(per_thousand(used["credits"], n), 1),
        "ideal_calls_per_1000": 10,
        "ideal_credits_per_1000": 100,
    }


@dataclass
class Emissions:
    """When the poller put each of a tenant's change events on Kafka: the message's CreateTime
    on mlc.sage.changes (the producer stamps it at the send, after the page's commit), read by
    a consumer outside any group. {source key: first emission at or after `since`}."""

    tenant: str
    since: float
    at: dict[str, float]
    events: int = 0

    def take(self, key: bytes | None, timestamp_ms: int) -> None:
        tenant, _, rest = (key or b"").decode(errors="replace").partition("|")
        if tenant != self.tenant or timestamp_ms / 1000 < self.since:
            return
        self.events += 1
        self.at.setdefault(rest.partition("|")[2], timestamp_ms / 1000)


@contextlib.asynccontextmanager
async def emissions(bench: Bench, tenant: str) -> AsyncIterator[Emissions]:
    found = Emissions(tenant, time.time(), {})
    consumer = create_consumer(
        bench.dev.config.kafka_bootstrap,
        Topics.SAGE_CHANGES,
        group_id=None,
        client_id="bench-emissions",
        max_poll_records=5000,
    )
    await consumer.start()

    async def read() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    found.take(record.key, record.timestamp)

    task = asyncio.create_task(read())
    try:
        yield found
        await asyncio.sleep(1.0)  # what was sent just before the end is read too
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()


async def idle_repoll(bench: Bench, tenant: str, *, polls: int, within: float) -> dict[str, Any]:
    """Nothing changes in Sage: count Zoho calls and credits, and the change events put on
    Kafka, over `polls` full poll rounds."""
    await wait_quiet(bench, tenant)
    async with emissions(bench, tenant) as emitted:
        figures = await _idle_rounds(bench, tenant, polls=polls, within=within)
    return figures | {"kafka_events": emitted.events}


async def _idle_rounds(bench: Bench, tenant: str, *, polls: int, within: float) -> dict[str, Any]:
    before, started = await bench.zoho_stats(tenant), time.monotonic()
    first = await bench.poll_successes(tenant)
    seen: dict[str, set[Any]] = {entity: set() for entity in first}
    while time.monotonic() - started < within:
        for entity, at in (await bench.poll_successes(tenant)).items():
            if at is not None and at != first.get(entity):
                seen.setdefault(entity, set()).add(at)
        if seen and min(len(s) for s in seen.values()) >= polls:
            break
        await asyncio.sleep(0.2)
    used = delta(await bench.zoho_stats(tenant), before)
    return {
        "polls_observed": min((len(s) for s in seen.values()), default=0),
        "seconds": round(time.monotonic() - started, 1),
        "calls": used["calls"],
        "credits": used["credits"],
    }


async def change_latency(
    bench: Bench,
    tenant: str,
    keys: list[str],
    *,
    changes: int,
    spacing_s: float,
    poll_seconds: float,
    rng: random.Random,
) -> dict[str, Any]:
    """Change one customer every `spacing_s` seconds; each latency runs from the moment the
    change is sent to Sage to the moment Zoho stored the write (the emulator's record time).
    The pipeline latency runs from the change event's emission on Kafka (the poll that saw
    the change) to the same write; the full latency at the default 15-minute cadence is
    computed from it (full_latency_at_cadence)."""
    await wait_quiet(bench, tenant)
    chosen = rng.sample(keys, min(changes, len(keys)))
    since, changed_at = time.time(), {}
    async with emissions(bench, tenant) as emitted:
        for key in chosen:
            changed_at[key] = time.time()
            await change(bench, [key])
            await asyncio.sleep(spacing_s)
        written = await wait_written(bench, tenant, chosen, since, within=300 + 10 * poll_seconds)
    latencies = [written[k] - changed_at[k] for k in chosen if k in written]
    pipeline = [written[k] - emitted.at[k] for k in chosen if k in written and k in emitted.at]
    figures: dict[str, Any] = {
        "changes": len(chosen),
        "arrived": len(latencies),
        "spacing_s": spacing_s,
        "poll_interval_s": poll_seconds,
    }
    if latencies:
        figures |= {k: round(v, 3) for k, v in latency_summary(latencies).items()}
        figures["latencies_s"] = [round(v, 3) for v in latencies]
    if pipeline:
        summary = latency_summary(pipeline)
        figures["pipeline"] = {k: round(v, 3) for k, v in summary.items()}
        figures["pipeline"]["latencies_s"] = [round(v, 3) for v in pipeline]
        figures["full_at_15_min_cadence"] = full_latency_at_cadence(summary, DEFAULT_CADENCE_S)
    return figures


DEFAULT_CADENCE_S = 900.0  # AR customers' default poll cadence (SageTable.default_cadence)


def full_latency_at_cadence(pipeline: dict[str, float], cadence_s: float) -> dict[str, Any]:
    """Change-to-Zoho latency at a poll cadence, computed (not measured): a change waits
    uniformly between 0 and one cadence for the next poll, cadence/2 on average and 0.99 of
    it at the 99th percentile, then the measured pipeline."""
    return {
        "cadence_s": cadence_s,
        "mean_s": round(cadence_s / 2 + pipeline["mean_s"], 1),
        "p99_s": round(0.99 * cadence_s + pipeline["p99_s"], 1),
        "computed": True,
    }
