"""The benchmark's arithmetic and its results rendering (pure; runs in CI)."""

from __future__ import annotations

import argparse
import copy
import math
from pathlib import Path
from typing import Any

import pytest

from bench.chart import draw, throughput_bars
from bench.figures import (
    ceiling_records_per_second,
    extrapolate_seconds,
    human_duration,
    ideal_calls,
    latency_summary,
    naive_full_seconds,
    per_thousand,
    percentile,
    rate,
    ratio,
)
from bench.report import missing_sections, render_markdown
from bench.run import auto_notes, make_plan
from bench.scale_out import per_replica
from bench.scenarios import Emissions, Load, changed_customer, full_latency_at_cadence, load_figures

pytestmark = pytest.mark.unit


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 90) == pytest.approx(4.6)
    assert percentile([7.0], 99) == 7.0
    hundred = [float(i) for i in range(1, 101)]
    assert percentile(hundred, 99) == pytest.approx(99.01)


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_ceiling_is_ten_parallel_hundred_record_calls_per_latency() -> None:
    assert ceiling_records_per_second(0.3) == pytest.approx(10 * 100 / 0.3)
    assert ceiling_records_per_second(0.5, concurrency=5) == pytest.approx(1000.0)
    assert ceiling_records_per_second(0) == math.inf


def test_ratio_rate_and_per_thousand() -> None:
    assert ratio(1000.0, ceiling_records_per_second(0.3)) == pytest.approx(0.3)
    assert ratio(500.0, math.inf) is None
    assert rate(300, 2.0) == 150.0 and rate(5, 0.0) == 0.0
    assert per_thousand(12, 500) == 24.0
    with pytest.raises(ValueError, match="at least one record"):
        per_thousand(1, 0)
    assert ideal_calls(150_000) == 1500 and ideal_calls(101) == 2


def test_extrapolation_is_linear_in_records() -> None:
    assert extrapolate_seconds(1000, 330.0, 150_000) == pytest.approx(49_500.0)
    with pytest.raises(ValueError, match="empty sample"):
        extrapolate_seconds(0, 1.0, 10)
    assert human_duration(49_500.0) == "13.8 h"
    assert human_duration(90.0) == "90.0 s"
    assert human_duration(600.0) == "10.0 min"


def test_naive_full_load_is_linear_writes_plus_one_full_read() -> None:
    seconds = naive_full_seconds(
        sample_records=600, sample_write_seconds=194.4, total_records=150_000, read_seconds=563.0
    )
    assert seconds == pytest.approx(194.4 / 600 * 150_000 + 563.0)


def test_latency_summary() -> None:
    summary = latency_summary([1.0, 2.0, 3.0, 10.0])
    assert summary["p50_s"] == 2.5 and summary["max_s"] == 10.0
    assert summary["mean_s"] == 4.0 and summary["p99_s"] == pytest.approx(9.79)


def test_load_figures_time_from_start_to_last_write_against_the_ceiling() -> None:
    figures = load_figures(
        load=Load(customers=100, contacts=200),
        latency_ms=300,
        started=1000.0,
        writes=[1002.0 + i / 100 for i in range(300)],
        poll_end=1001.5,
        calls={"calls": 4, "credits": 30, "rejected_429": 0, "max_in_flight": 3},
        complete=True,
    )
    assert figures["seconds"] == pytest.approx(4.99)
    assert figures["records_per_s"] == pytest.approx(300 / 4.99, abs=0.1)
    assert figures["ceiling_records_per_s"] == pytest.approx(3333.3)
    assert figures["ratio_to_ceiling"] == pytest.approx(300 / 4.99 / 3333.33, abs=0.001)
    assert figures["sage_poll_records_per_s"] == 200.0
    assert figures["first_write_after_s"] == 2.0 and figures["ideal_calls"] == 3
    unbounded = load_figures(
        load=Load(1, 0),
        latency_ms=0,
        started=0.0,
        writes=[1.0],
        poll_end=None,
        calls={"calls": 1, "credits": 1, "rejected_429": 0, "max_in_flight": 1},
        complete=True,
    )
    assert unbounded["ceiling_records_per_s"] is None and unbounded["ratio_to_ceiling"] is None
    assert unbounded["sage_poll_seconds"] is None


def test_each_change_gives_the_customer_a_new_phone() -> None:
    first, second = changed_customer("01-ABF"), changed_customer("01-ABF")
    assert first["ARDivisionNo"] == "01" and first["CustomerNo"] == "ABF"
    assert first["TelephoneNo"] != second["TelephoneNo"]


def test_plan_follows_scale_and_quick() -> None:
    def args(**over: Any) -> argparse.Namespace:
        base = {"scale": 1.0, "quick": False, "latency_ms": 300, "poll_seconds": 1.0}
        return argparse.Namespace(**(base | {"naive_sample": 0, "replicas": "1,2,4"} | over))

    full = make_plan(args())
    assert (full.customers, full.contacts, full.changed) == (50_000, 100_000, 1000)
    assert full.latency_changes == 200 and full.naive_sample == 600
    quick = make_plan(args(quick=True))
    assert quick.customers == 500 and quick.contacts == 1000 and quick.changed == 500
    assert make_plan(args(scale=0.2, naive_sample=90)).naive_sample == 90
    assert full.replicas == (1, 2, 4) and make_plan(args(replicas="2")).replicas == (2,)
    with pytest.raises(SystemExit):
        make_plan(args(scale=0))
    for bad in ("", "two", "0,2", "1,9"):
        with pytest.raises(SystemExit):
            make_plan(args(replicas=bad))


def sample_results() -> dict[str, Any]:
    run = {
        "records_expected": 150_000,
        "records_written": 150_000,
        "complete": True,
        "seconds": 600.0,
        "records_per_s": 250.0,
        "first_write_after_s": 3.0,
        "sage_poll_seconds": 590.0,
        "sage_poll_records_per_s": 254.2,
        "zoho_calls": 1700,
        "zoho_credits": 15_500,
        "zoho_429": 0,
        "zoho_max_in_flight": 10,
        "ideal_calls": 1500,
    }
    return {
        "run": {
            "command": "make bench",
            "started_at": "2026-11-26T11:00:00+00:00",
            "duration_s": 1500.0,
            "scale": 1.0,
            "load": {"customers": 50_000, "contacts": 100_000, "records": 150_000},
            "edition": "enterprise",
        },
        "machine": {
            "cpu_model": "AMD EPYC",
            "logical_cores": 2,
            "physical_cores": 2,
            "ram_gib": 23.5,
            "os": "Linux",
            "python": "3.11.7",
            "kafka": "4.2.0",
            "postgresql": "15.18",
            "git_commit": "abc123",
            "git_uncommitted_changes": True,
            "load_average_start": [6.0, 5.0, 4.0],
            "load_average_end": [3.0, 4.0, 4.0],
        },
        "throughput": {
            "latency_0ms": run
            | {"latency_ms": 0, "ceiling_records_per_s": None, "ratio_to_ceiling": None},
            "latency_300ms": run
            | {"latency_ms": 300, "ceiling_records_per_s": 3333.3, "ratio_to_ceiling": 0.075},
        },
        "calls_per_change": {
            "changed": 1000,
            "calls": 12,
            "credits": 104,
            "calls_per_1000": 12.0,
            "credits_per_1000": 104.0,
            "ideal_calls_per_1000": 10,
            "ideal_credits_per_1000": 100,
        },
        "idle_repoll": {
            "polls_observed": 3,
            "seconds": 4.2,
            "calls": 0,
            "credits": 0,
            "kafka_events": 0,
        },
        "change_latency": {
            "changes": 200,
            "arrived": 200,
            "spacing_s": 0.25,
            "poll_interval_s": 1.0,
            "p50_s": 1.8,
            "p99_s": 3.1,
            "mean_s": 1.9,
            "max_s": 3.3,
            "latencies_s": [1.0, 1.8, 3.3],
            "pipeline": {"p50_s": 0.4, "p99_s": 0.8, "mean_s": 0.47, "max_s": 0.81},
            "full_at_15_min_cadence": {
                "cadence_s": 900.0,
                "mean_s": 450.5,
                "p99_s": 891.8,
                "computed": True,
            },
        },
        "peak_rss_mib": {"mlc-sage-poller": 80.0, "mlc-mapper": 70.0},
        "scale_out": {
            "latency_ms": 300,
            "runs": {
                "4": per_replica(
                    run
                    | {
                        "latency_ms": 300,
                        "records_per_s": 2000.0,
                        "ratio_to_ceiling": 0.6,
                        "zoho_max_in_flight": 8,
                    },
                    4,
                )
            },
        },
        "naive": {
            "latency_ms": 300,
            "sample_records": 600,
            "measured_seconds": 200.0,
            "read_seconds": 2.0,
            "write_seconds": 198.0,
            "records_per_s": 3.0,
            "calls": 600,
            "credits": 600,
            "calls_per_1000": 1000.0,
            "credits_per_1000": 1000.0,
            "failed": 0,
            "full_load_records": 150_000,
            "full_load_seconds": 50_000.0,
            "full_load_read_seconds": 560.0,
            "full_load_records_per_s": 3.0,
            "extrapolated": True,
        },
        "notes": ["a note"],
    }


def test_markdown_has_every_section_and_says_what_was_extrapolated() -> None:
    results = sample_results()
    assert missing_sections(results) == []
    text = render_markdown(results)
    for expected in (
        "AMD EPYC, 2 logical cores",
        "[6.0, 5.0, 4.0] at start",
        "Kafka 4.2.0",
        "PostgreSQL 15.18",
        "abc123 (with uncommitted changes)",
        "| 300 ms | 150,000/150,000 | 600.0 s | 250.0 | 3,333.3 | 7.5% |",
        "12.0 (fewest 10)",
        "re-poll, nothing changed (3 polls, 4.2 s, 0 Kafka events) | 0 | 0 | 0 |",
        "p50 1.80 s, p99 3.10 s",
        "write in Zoho: **p50 0.40 s, p99 0.80 s**",
        "15-minute cadence the full change latency is, computed",
        "mean 450 s, p99 892 s.",
        "| mlc-mapper | 70.0 MiB |",
        "| 4 | 150,000/150,000 | 600.0 s | 2,000.0 | 500.0 | 60.0% | 75.0% | 8 | 0 |",
        "**Extrapolated, not measured:**",
        "about 13.9 h (3.00 records/s)",
        "full read of every table (560.0 s,",
        "- a note",
    ):
        assert expected in text, expected


def test_a_missing_section_is_named() -> None:
    results = sample_results()
    del results["naive"]
    results["idle_repoll"] = {}
    assert missing_sections(results) == ["idle_repoll", "naive"]


def test_notes_say_when_the_machine_was_busy_and_the_poll_lasted_the_load() -> None:
    results = sample_results()
    notes = auto_notes(results, results["machine"])
    assert any("load average 6.0" in n for n in notes)
    assert any("latency_300ms" in n and "keeps the pipeline's pace" in n for n in notes)
    quiet = copy.deepcopy(results)
    quiet["machine"]["load_average_start"] = [0.2, 0.1, 0.1]
    for run in quiet["throughput"].values():
        run["sage_poll_seconds"] = 100.0
    assert auto_notes(quiet, quiet["machine"]) == []


def test_chart_bars_and_png(tmp_path: Path) -> None:
    results = sample_results()
    bars = throughput_bars(results)
    assert [value for _, value in bars] == [250.0, 250.0, 3333.3, 3.0]
    assert "extrapolated" in bars[3][0]
    path = tmp_path / "chart.png"
    draw(results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_full_latency_at_a_cadence_adds_the_wait_for_the_poll() -> None:
    pipeline = {"p50_s": 0.4, "p99_s": 0.8, "mean_s": 0.5, "max_s": 0.9}
    full = full_latency_at_cadence(pipeline, 900.0)
    assert full == {"cadence_s": 900.0, "mean_s": 450.5, "p99_s": 891.8, "computed": True}


def test_emissions_keep_the_first_of_the_tenants_events_since_the_start() -> None:
    seen = Emissions("t1", since=100.0, at={})
    seen.take(b"t1|ar_customer|01-A", 101_000)
    seen.take(b"t1|ar_customer|01-A", 102_000)  # a later event of the same record
    seen.take(b"t2|ar_customer|01-B", 101_000)  # another tenant
    seen.take(b"t1|ar_customer|01-C", 99_000)  # before the start
    assert seen.at == {"01-A": 101.0} and seen.events == 2
