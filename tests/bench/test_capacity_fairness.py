"""The capacity model's and the fairness scenario's arithmetic (pure functions), and the one
reading of the local broker's and PostgreSQL's CPU (integration)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path
from typing import Any

import asyncpg
import psutil  # type: ignore[import-untyped]
import pytest

from bench import capacity
from bench.capacity import (
    Fleet,
    Snapshot,
    bound,
    credits_per_day,
    infrastructure_cpu_seconds,
    infrastructure_pids,
    model,
    per_record,
    topic_bytes,
)
from bench.fairness_figures import (
    CarriedChange,
    PollsSeen,
    change_schedule,
    company_code,
    make_plan,
    poll_intervals,
    render,
    spread,
    summarize,
    without_sage_time,
    writer_pauses,
)
from tests.infra import ADMIN_URL, KAFKA


def snap(at: float, cpu: dict[str, float], topics: dict[str, int], audit: int) -> Snapshot:
    return Snapshot(at=at, cpu_s=cpu, topic_bytes=topics, audit_bytes=audit)


def test_per_record_divides_each_difference_by_the_records() -> None:
    before = snap(10.0, {"mlc-mapper": 1.0, "mlc-audit": 2.0}, {"mlc.sage.changes": 100}, 1000)
    after = snap(20.0, {"mlc-mapper": 3.0, "mlc-audit": 2.5}, {"mlc.sage.changes": 4100}, 9000)
    got = per_record(before, after, records=4, cores=2)
    assert got["cpu_us_per_record"] == {"mlc-mapper": 500_000.0, "mlc-audit": 125_000.0}
    assert got["cores_busy"] == {"mlc-mapper": 0.2, "mlc-audit": 0.05}
    assert got["kafka_bytes_per_record"] == {"mlc.sage.changes": 1000.0}
    assert got["audit_bytes_per_record"] == 2000.0
    with pytest.raises(ValueError, match="at least one record"):
        per_record(before, after, records=0, cores=2)


def test_bound_names_the_machine_a_saturated_process_or_neither() -> None:
    assert bound({"a": 9.0, "b": 8.0}, 10.0, cores=2).startswith("the machine's CPU: 1.70 of 2")
    assert bound({"mlc-mapper": 9.5, "b": 1.0}, 10.0, cores=4).startswith("mlc-mapper: 0.95")
    assert bound({"a": 1.0}, 10.0, cores=2).startswith("neither CPU")
    assert bound({}, 10.0, cores=2).startswith("unknown")


def test_topic_bytes_counts_log_segments_of_mlc_topics_only(tmp_path: Path) -> None:
    for name, size in (("mlc.sage.changes-0", 300), ("mlc.sage.changes-1", 200), ("other-0", 9)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "00000000000000000000.log").write_bytes(b"x" * size)
        (tmp_path / name / "00000000000000000000.index").write_bytes(b"x" * 999)
    sizes = topic_bytes(tmp_path)
    assert sizes["mlc.sage.changes"] == 500
    assert sizes["mlc.zoho.commands"] == 0
    assert "other" not in sizes
    assert topic_bytes(None)["mlc.sage.changes"] == 0


def test_credits_per_day_against_the_naive_sync() -> None:
    got = credits_per_day(
        records=150_000,
        daily_change=0.01,
        credits_per_1000=109.0,
        naive_credits_per_record=1.0,
        naive_runs_per_day=96,
    )
    assert got["changes_per_day"] == 1500
    assert got["ours"] == pytest.approx(163.5)
    assert got["naive"] == 14_400_000
    assert got["naive_to_ours"] == pytest.approx(14_400_000 / 163.5, rel=1e-3)


def test_model_sizes_replicas_partitions_and_storage_from_the_inputs() -> None:
    inputs = {
        "cpu_us_per_record": {
            "mlc-mapper": 700.0,
            "mlc-zoho-writer": 1400.0,
            "mlc-sage-emulator": 1,
        },
        "kafka_bytes_per_record": {"mlc.sage.changes": 1000.0, "mlc.zoho.commands": 1000.0},
        "audit_bytes_per_record": 4000.0,
    }
    fleet = Fleet(tenants=86_400, records_per_tenant=100, daily_change=0.1, peak_to_mean=10)
    got = model(inputs, {"ours": 12.5}, fleet)
    assert got["changes_per_day"] == 864_000
    assert got["peak_changes_per_s"] == 100.0
    # 100 records/s x 700 µs = 0.07 cores; x 1400 µs = 0.14; each below 0.7 of a core.
    assert got["replicas"] == {"mlc-mapper": 1, "mlc-zoho-writer": 1}
    assert got["partitions"] == 6
    assert got["broker_disk_gib_per_day"] == round(864_000 * 2000 * 3 / 2**30, 2)
    assert got["audit_gib_per_day"] == round(864_000 * 4000 / 2**30, 2)
    assert got["credits_fleet_per_day"] == 12.5 * 86_400
    busy = model(inputs | {"cpu_us_per_record": {"mlc-zoho-writer": 70_000.0}}, {"ours": 1}, fleet)
    assert busy["replicas"] == {"mlc-zoho-writer": 10}  # 7 cores at 0.7 each
    assert busy["partitions"] == 20


def test_company_codes_are_three_characters_and_distinct() -> None:
    codes = [company_code(n) for n in range(1000)]
    assert len(set(codes)) == 1000 and all(len(c) == 3 and c.isalnum() for c in codes)
    with pytest.raises(ValueError, match="no 3-character"):
        company_code(36 * 36)


def test_change_schedule_spreads_distinct_customers_over_the_window() -> None:
    plan = make_plan(quick=True)
    events = change_schedule(plan, random.Random(3))
    assert len(events) == plan.tenants * plan.changes_per_tenant
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    assert all(0 <= at <= plan.window_s for at, _, _ in events)
    for tenant in range(plan.tenants):
        customers = [c for _, t, c in events if t == tenant]
        assert len(set(customers)) == plan.changes_per_tenant
        assert all(0 <= c < plan.customers_per_tenant for c in customers)


def test_summarize_reports_per_tenant_figures_spread_and_starved_tenants() -> None:
    latencies = {"a": [1.0, 2.0, 3.0], "b": [10.0, 30.0], "c": []}
    got = summarize(latencies, {"a": 3, "b": 2, "c": 1}, bound_s=20.0)
    assert got["per_tenant"]["a"] == {"p50_s": 2.0, "p99_s": 2.98, "arrived": 3}
    assert got["over_bound"] == ["b"]
    assert got["starved"] == ["c"]
    assert (got["changes"], got["arrived"]) == (6, 5)
    assert got["all_max_s"] == 30.0
    assert got["spread"]["p50_s"]["min"] == 2.0 and got["spread"]["p50_s"]["max"] == 20.0
    assert spread([]) == {"min": None, "median": None, "p90": None, "max": None}


def test_writer_pauses_counts_the_logged_pauses_since_a_time() -> None:
    since = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
    lines = [
        '{"ts": "2026-12-05T00:59:59+00:00", "msg": "tenant paused", "tenant": "a", "reason": "x"}',
        '{"ts": "2026-12-05T01:00:01+00:00", "msg": "tenant paused", "tenant": "a", "reason": "x"}',
        '{"ts": "2026-12-05T01:00:02+00:00", "msg": "tenant paused: y", "tenant": "b",'
        ' "reason": "y"}',
        '{"ts": "2026-12-05T01:00:03+00:00", "msg": "batch written", "tenant": "c"}',
        "not json",
    ]
    got = writer_pauses(lines, since)
    assert got == {"pauses": 2, "tenants": 2, "by_reason": {"x": 1, "y": 1}}


def test_poll_intervals_are_the_gaps_between_each_entitys_poll_ends() -> None:
    seen = {("a", "ar_customer"): {30.0, 10.0, 20.5}, ("b", "ar_customer"): {5.0}}
    assert sorted(poll_intervals(seen)) == [9.5, 10.5]


def test_polls_seen_keep_each_polls_timing_once_however_often_sampled() -> None:
    at = dt.datetime(2026, 12, 5, 16, 0, tzinfo=dt.UTC)
    seen = PollsSeen()
    for n, (seconds, late) in enumerate([(0.5, None), (1.5, 2.0), (3.0, 8.0)]):
        started = at + dt.timedelta(seconds=120 * n)
        row = {
            "tenant_id": "fair-0001",
            "entity": "ar_customer",
            "last_success_at": started + dt.timedelta(seconds=seconds),
            "last_poll_started_at": started,
            "last_poll_seconds": seconds,
            "last_poll_late_seconds": late,
            "last_poll_sage_seconds": seconds / 2,
        }
        seen.add(row)
        seen.add(row)  # sampled twice between polls: still one poll
    got = seen.spreads()
    assert got["polls"] == 3
    assert got["seconds"]["max"] == 3.0 and got["seconds"]["min"] == 0.5
    assert got["late_s"]["min"] == 2.0 and got["late_s"]["max"] == 8.0  # the first: no due time
    assert got["sage_s"]["max"] == 1.5 and got["off_sage_s"]["max"] == 1.5
    assert sorted(poll_intervals(seen.ends)) == [121.0, 121.5]


def test_each_change_is_charged_its_carrying_polls_time_on_sage_and_no_other() -> None:
    at = dt.datetime(2026, 12, 5, 16, 0, tzinfo=dt.UTC)
    seen = PollsSeen()
    for start, sage_s in ((0.0, 1.0), (120.0, 8.0)):  # fair-0001's two customer polls
        began = at + dt.timedelta(seconds=start)
        seen.add(
            {
                "tenant_id": "fair-0001",
                "entity": "ar_customer",
                "last_success_at": began + dt.timedelta(seconds=sage_s + 1),
                "last_poll_started_at": began,
                "last_poll_seconds": sage_s + 1,
                "last_poll_late_seconds": 0.0,
                "last_poll_sage_seconds": sage_s,
            }
        )
    t0 = at.timestamp()
    changes = [
        CarriedChange("fair-0001", 135.0, t0 + 129.0),  # carried by the second poll: 8 s on Sage
        CarriedChange("fair-0001", 20.0, t0 + 2.0),  # by the first: 1 s
        CarriedChange("fair-0002", 131.0, t0 + 50.0),  # no poll of fair-0002 seen
    ]
    got = without_sage_time(changes, seen, bound_s=130.0)
    assert got["all_max_s"] == 131.0 and got["unattributed"] == 1
    assert got["over_bound"] == ["fair-0002"]  # fair-0001: 135 - 8 = 127 s on this side
    assert got["sage_s"]["max"] == 8.0 and got["sage_s"]["min"] == 0.0


def test_render_names_the_spread_the_starved_and_the_bound() -> None:
    latencies = {"fair-0000": [1.0, 3.0], "fair-0001": [25.0]}
    plan = make_plan(quick=True)
    fair = summarize(latencies, {"fair-0000": 2, "fair-0001": 2}, bound_s=plan.bound_s) | {
        "plan": {"customers_per_tenant": 10, "poll_seconds": 10.0, "latency_ms": 300},
        "changes_per_tenant_per_hour": 270.0,
        "onboard_seconds": 1.0,
        "loader": {"records": 3000, "written_by_end": 3000},
        "poller_cpu_ms_per_poll": 9.0,
        "peak_rss_mib": {"mlc-mapper": 70.0},
        "writer_pauses": {},
    }
    text = "\n".join(render(fair))
    assert "3/4 changes arrived" in text
    assert "(bound 20.0 s)" in text
    assert "| p99 (s) | 2.98 | 13.99 | 22.798 | 25.0 |" in text
    assert "Over the bound: 1 tenants; starved: 1 ['fair-0001']" in text


@pytest.mark.integration
async def test_the_broker_and_postgresql_are_in_the_cpu_figures() -> None:
    """They share the cores with the stack: leaving them out called a CPU-bound load one that
    waits (1.11 of 2 cores, at 1,006 records/s)."""
    pids = infrastructure_pids(bootstrap=KAFKA, database_url=ADMIN_URL)
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        first = infrastructure_cpu_seconds(pids)
        for _ in range(200):  # backends that start and exit: their CPU must still count
            fresh = await asyncpg.connect(ADMIN_URL)
            await fresh.fetchval("SELECT count(*) FROM generate_series(1, 20000)")
            await fresh.close()
        await asyncio.sleep(0.2)
        second = infrastructure_cpu_seconds(pids)
    finally:
        await conn.close()
    assert set(first) == {"kafka-broker", "postgresql"}
    assert first["kafka-broker"] > 0
    assert second["postgresql"] > first["postgresql"]


def test_window_cores_name_every_process_the_loader_side_the_driver_and_the_machine() -> None:
    from bench.fairness import WindowSnapshot, cores_by_process

    def snap(at: float, stack: float, agent: float, machine: float, driver: float) -> Any:
        cpu = {"mlc-sage-poller": stack, "postgresql": stack / 2}
        loader = {"mlc-sage-agent": agent, "mlc-mapper": 99.0}
        return WindowSnapshot(Snapshot(at, cpu, {}, 0), loader, machine, driver)

    cores = cores_by_process(snap(0, 10, 1, 100, 5), snap(100, 50, 3, 290, 25))
    assert cores == {
        "mlc-sage-poller": 0.4,
        "postgresql": 0.2,
        "loader mlc-sage-agent": 0.02,  # the loader's mapper is the stack's, counted there
        "total": 0.62,
        "bench driver": 0.2,
        "machine": 1.9,
    }


class _Times:
    def __init__(self, user: float, system: float, children: float = 0.0) -> None:
        self.user, self.system = user, system
        self.children_user, self.children_system = children, 0.0


class _Proc:
    def __init__(self, times: _Times | None, children: list[_Proc] | None = None) -> None:
        self._times, self._children = times, children or []

    def cpu_times(self) -> _Times:
        if self._times is None:
            raise psutil.NoSuchProcess(4242)
        return self._times

    def children(self, recursive: bool = False) -> list[_Proc]:
        return self._children


@pytest.mark.unit
def test_a_child_exiting_while_read_leaves_only_itself_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A PostgreSQL backend that exits between the listing and its reading must not zero the
    # whole tree, or a load's CPU between two readings can come out negative.
    gone = _Proc(None)
    tree = _Proc(_Times(10.0, 2.0, children=5.0), [_Proc(_Times(3.0, 1.0)), gone])
    monkeypatch.setattr(capacity.psutil, "Process", lambda pid: tree)
    assert capacity.process_cpu_seconds(1) == 16.0
    assert capacity.process_cpu_seconds(1, reaped=True) == 21.0
    monkeypatch.setattr(capacity.psutil, "Process", lambda pid: _Proc(None))
    assert capacity.process_cpu_seconds(1) == 0.0  # the process itself gone: nothing to count
