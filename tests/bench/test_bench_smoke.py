"""`make bench --quick` end to end: the stack runs, and the results file has every section with
figures that make sense (not how fast: benchmarks are never timed assertions).

Slow (a few minutes), so not part of every CI run:
    .venv/bin/pytest -p no:cacheprovider -m slow tests/bench
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlc_devtools.devstack import SERVICES

from bench.report import missing_sections
from tests.infra import ADMIN_URL, KAFKA

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1200)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    env = dict(
        os.environ,
        MLC_KAFKA_BOOTSTRAP=KAFKA,
        MLC_DATABASE_ADMIN_URL=ADMIN_URL,
        MLC_STATE_DIR=str(out / "state"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), out


def test_every_section_and_the_machine(results: tuple[dict[str, Any], Path]) -> None:
    body, out = results
    assert missing_sections(body) == []
    machine = body["machine"]
    assert machine["cpu_model"] and machine["logical_cores"] >= 1 and machine["ram_gib"] > 0
    assert len(machine["load_average_start"]) == 3 and len(machine["load_average_end"]) == 3
    assert machine["kafka"][0].isdigit() and machine["postgresql"][0].isdigit()
    assert len(machine["git_commit"]) == 40
    assert "## Naive reference sync" in (out / "results.md").read_text()
    assert (out / "throughput.png").read_bytes()[:4] == b"\x89PNG"


def test_initial_loads_arrive_whole_within_the_ceiling(
    results: tuple[dict[str, Any], Path],
) -> None:
    body, _ = results
    load = body["run"]["load"]
    assert load["records"] == load["customers"] + load["contacts"] > 0
    fast, slow = body["throughput"]["latency_0ms"], body["throughput"]["latency_300ms"]
    for run in (fast, slow):
        assert run["complete"] and run["records_written"] == load["records"]
        assert run["records_per_s"] > 0 and run["seconds"] > run["first_write_after_s"] >= 0
        assert run["zoho_calls"] >= run["ideal_calls"] and run["zoho_429"] == 0
        assert run["zoho_max_in_flight"] <= 10
    assert fast["ratio_to_ceiling"] is None
    assert math.isclose(slow["ceiling_records_per_s"], 1000 / 0.3, rel_tol=1e-3)
    assert 0 < slow["ratio_to_ceiling"] <= 1


def test_changes_cost_batched_calls_and_an_idle_poll_costs_nothing(
    results: tuple[dict[str, Any], Path],
) -> None:
    body, _ = results
    per_change, idle = body["calls_per_change"], body["idle_repoll"]
    assert per_change["written"] == per_change["changed"] > 0
    # Batched: far fewer calls than records, never fewer than full 100-record batches allow.
    assert math.ceil(per_change["changed"] / 100) <= per_change["calls"] < per_change["changed"]
    assert per_change["credits"] >= per_change["changed"] / 10
    assert idle["polls_observed"] >= 1
    assert idle["calls"] == 0 and idle["credits"] == 0
    assert idle["kafka_events"] == 0  # nothing after the poll: not even a change event


def test_change_latency_memory_and_the_naive_sample(results: tuple[dict[str, Any], Path]) -> None:
    body, _ = results
    latency = body["change_latency"]
    assert latency["arrived"] == latency["changes"] > 0
    assert 0 < latency["p50_s"] <= latency["p99_s"] <= latency["max_s"]
    pipeline = latency["pipeline"]  # from the change event's emission: part of the whole
    assert len(pipeline["latencies_s"]) == latency["arrived"]
    assert 0 < pipeline["p50_s"] <= pipeline["p99_s"] <= latency["max_s"]
    assert latency["full_at_15_min_cadence"]["mean_s"] > 450
    assert set(body["peak_rss_mib"]) == set(SERVICES)
    assert all(10 < mib < 4096 for mib in body["peak_rss_mib"].values())
    naive = body["naive"]
    assert naive["calls"] == naive["sample_records"] > 0 and naive["failed"] == 0
    assert naive["calls_per_1000"] == 1000.0
    assert naive["extrapolated"] and naive["full_load_seconds"] > naive["measured_seconds"]


def test_scale_out_loads_whole_with_each_replica_count_and_no_429(
    results: tuple[dict[str, Any], Path],
) -> None:
    body, out = results
    runs = body["scale_out"]["runs"]
    assert [run["replicas"] for run in runs.values()] == [1, 2, 4]
    for run in runs.values():
        assert run["complete"] and run["records_written"] == body["run"]["load"]["records"]
        assert run["zoho_429"] == 0  # the writers shared the org's concurrency
        assert math.isclose(
            run["records_per_s_per_replica"] * run["replicas"], run["records_per_s"], abs_tol=1
        )
        assert 0 < run["ratio_to_ceiling"] <= run["ratio_to_usable_ceiling"] <= 1
    assert "## Scale-out: 1, 2 and 4 replicas" in (out / "results.md").read_text()
