"""Issue #18's targets against a run's figures (pure)."""

from __future__ import annotations

import copy

from bench.report import render_markdown
from bench.targets import assess
from tests.bench.test_figures import sample_results

CAPACITY = {
    "inputs": {
        "records": 150_000,
        "seconds": 300.0,
        "cpu_us_per_record": {
            "mlc-sage-emulator": 1000.0,
            "mlc-sage-poller": 500.0,
            "mlc-mapper": 200.0,
            "mlc-zoho-writer": 600.0,
            "mlc-audit": 400.0,
        },
        "bound": "the machine's CPU: 1.9 of 2 cores busy",
    },
    "credits_per_day": {"ours": 5000.0, "naive": 7_200_000.0, "naive_to_ours": 1440.0},
}


def verdicts(results: dict) -> dict[str, str]:
    return {row.target.split(":")[0].split(" (")[0]: row.verdict for row in assess(results)}


def test_each_target_is_judged_from_the_figures_of_the_run() -> None:
    results = sample_results() | {"capacity": CAPACITY}
    got = verdicts(results)
    assert got["initial load at 300 ms"] == "not met"  # 7.5% of the ceiling
    assert got["≤ 10.5 Zoho calls and ≤ 105 credits per 1,000 changed records"] == "not met"
    assert got["pipeline latency p99 ≤ 2 s"] == "met"  # 0.8 s
    assert got["a poll that finds nothing"] == "met"
    assert got["peak RSS per service at 150,000 records"] == "met"
    assert got["fairness"] == "not measured"
    better = copy.deepcopy(results)
    better["calls_per_change"] |= {"calls_per_1000": 10.2, "credits_per_1000": 102.0}
    better["throughput"]["latency_300ms"]["ratio_to_ceiling"] = 0.93
    better["peak_rss_mib"]["mlc-mapper"] = 240.0
    got = verdicts(better)
    assert got["≤ 10.5 Zoho calls and ≤ 105 credits per 1,000 changed records"] == "met"
    assert got["initial load at 300 ms"] == "met"
    assert got["peak RSS per service at 150,000 records"] == "not met"


def test_a_missed_ceiling_is_explained_by_the_measured_cpu_per_record() -> None:
    results = sample_results() | {"capacity": CAPACITY}
    [row] = [r for r in assess(results) if r.target.startswith("initial load")]
    # 2,700 µs per record over 2 cores: at most 741 records/s; the product's 1,700 µs per
    # record at the 3,333.3 records/s ceiling is 5.7 cores; 250 records/s is 34% of 741.
    for part in ("2,700 µs", "1,700 µs", "at most 741 records/s", "5.7 cores", "34% of that"):
        assert part in row.why, part
    # 2 cores at 3,333.3 records/s leave 600 µs a record; the emulated Sage alone takes 1,000.
    assert "leave 600 µs per record for every process" in row.why
    assert "Zoho's servers) takes 1,000 of them" in row.why
    text = render_markdown(sample_results())
    assert "| fairness: every tenant within its poll interval + 10 s, none starved | - |" in text
    assert "## Targets (issue #18) against this run" in text
    assert text.index("## Targets") < text.index("## Machine")


def test_cpu_figures_from_a_short_run_do_not_count() -> None:
    short = copy.deepcopy(CAPACITY)
    short["inputs"]["records"] = 1_500
    [row] = [r for r in assess(sample_results() | {"capacity": short}) if "CPU µs" in r.target]
    assert row.verdict == "not met" and "1,500 records" in row.why


def test_a_short_or_slower_load_is_not_called_cpu_bound() -> None:
    short = copy.deepcopy(CAPACITY)
    short["inputs"]["records"] = 1_500
    [row] = [r for r in assess(sample_results() | {"capacity": short}) if "initial" in r.target]
    assert "read the full run" in row.why and "CPU" not in row.why
    results = sample_results() | {"capacity": CAPACITY}
    results["throughput"]["latency_300ms"]["records_per_s"] = 700.0  # 94% of 741
    [row] = [r for r in assess(results) if r.target.startswith("initial load")]
    assert row.why.startswith("bound: this machine's CPU") and "94% of that" in row.why
    assert "cores busy" not in row.why  # a run from before the load's cores were measured
    results["throughput"]["latency_300ms"]["cores_busy"] = 1.9
    [row] = [r for r in assess(results) if r.target.startswith("initial load")]
    assert row.why.endswith("94% of that CPU bound, with 1.90 of 2 cores busy over it")


def fairness(over: list[str], machine: float) -> dict:
    return {
        "tenants": 1000,
        "arrived": 3000,
        "changes": 3000,
        "bound_s": 130.0,
        "spread": {"p99_s": {"median": 110.0, "max": 140.0}},
        "over_bound": over,
        "starved": [],
        "window_cores_busy": {
            "mlc-sage-poller": 0.3,
            "postgresql": 0.3,
            "mlc-sage-agent": 0.4,
            "loader mlc-sage-agent": 0.02,
            "mlc-zoho-emulator": 0.05,
            "bench driver": 0.2,
            "total": 1.07,
            "machine": machine,
        },
    }


def test_a_missed_fairness_bound_says_where_the_machines_cores_went() -> None:
    results = sample_results() | {"fairness": fairness(["fair-0001"], machine=1.95)}
    results["machine"]["logical_cores"] = 2
    [row] = [r for r in assess(results) if r.target.startswith("fairness")]
    assert row.verdict == "not met"
    assert row.why.startswith("bound: this machine's CPU")
    for part in ("1.95 of 2 cores", "Kafka and PostgreSQL 0.60", "Sage side", "0.42"):
        assert part in row.why, part
    idle = copy.deepcopy(results)
    idle["fairness"]["window_cores_busy"]["machine"] = 1.2
    [row] = [r for r in assess(idle) if r.target.startswith("fairness")]
    assert row.why.startswith("not this machine's CPU: 1.20 of 2 cores")
    idle["fairness"]["over_bound"] = []
    [row] = [r for r in assess(idle) if r.target.startswith("fairness")]
    assert (row.verdict, row.why) == ("met", "")
