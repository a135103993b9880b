"""Writing a benchmark run: results.json (everything), results.md (for people) and a chart."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import scale_out, targets
from bench.capacity import render as render_capacity
from bench.fairness_figures import render as render_fairness
from bench.figures import human_duration

SECTIONS = (
    "run",
    "machine",
    "throughput",
    "calls_per_change",
    "idle_repoll",
    "change_latency",
    "peak_rss_mib",
    "scale_out",
    "naive",
)


def missing_sections(results: dict[str, Any]) -> list[str]:
    return [name for name in SECTIONS if not results.get(name)]


def _num(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value:,}{unit}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render_machine(machine: dict[str, Any]) -> list[str]:
    return [
        f"- CPU: {machine['cpu_model']}, {machine['logical_cores']} logical cores"
        f" ({machine['physical_cores']} physical); RAM {machine['ram_gib']} GiB",
        f"- load average (1/5/15 min): {machine['load_average_start']} at start,"
        f" {machine.get('load_average_end', '-')} at end",
        f"- {machine['os']}; Python {machine['python']}; Kafka {machine['kafka']};"
        f" PostgreSQL {machine['postgresql']}",
        f"- commit {machine['git_commit']}"
        + (" (with uncommitted changes)" if machine.get("git_uncommitted_changes") else ""),
    ]


def render_throughput(throughput: dict[str, Any]) -> list[str]:
    rows = []
    for run in throughput.values():
        rows.append(
            (
                f"{run['latency_ms']} ms",
                f"{run['records_written']:,}/{run['records_expected']:,}",
                _num(run["seconds"], " s"),
                _num(run["records_per_s"]),
                _num(run["ceiling_records_per_s"]),
                "-" if run["ratio_to_ceiling"] is None else f"{run['ratio_to_ceiling']:.1%}",
                _num(run["sage_poll_records_per_s"]),
                f"{run['zoho_calls']:,} ({run['ideal_calls']:,})",
                _num(run["zoho_credits"]),
                _num(run["zoho_429"]),
                _num(run["cores_busy"], digits=2) if "cores_busy" in run else "-",
            )
        )
    header = (
        "Zoho latency",
        "records in Zoho",
        "time",
        "records/s",
        "ceiling records/s",
        "of ceiling",
        "Sage poll records/s",
        "Zoho calls (fewest possible)",
        "credits",
        "429s",
        "cores busy",
    )
    return _table(header, rows)


def render_changes(per_change: dict[str, Any], idle: dict[str, Any]) -> list[str]:
    return _table(
        ("", "records", "Zoho calls", "credits", "calls per 1,000", "credits per 1,000"),
        [
            (
                "changed customers",
                f"{per_change['changed']:,}",
                _num(per_change["calls"]),
                _num(per_change["credits"]),
                f"{_num(per_change['calls_per_1000'])}"
                f" (fewest {per_change['ideal_calls_per_1000']})",
                f"{_num(per_change['credits_per_1000'])}"
                f" (fewest {per_change['ideal_credits_per_1000']})",
            ),
            (
                f"re-poll, nothing changed ({idle['polls_observed']} polls, {idle['seconds']} s,"
                f" {idle.get('kafka_events', '?')} Kafka events)",
                "0",
                _num(idle["calls"]),
                _num(idle["credits"]),
                "-",
                "-",
            ),
        ],
    )


def render_latency(latency: dict[str, Any]) -> list[str]:
    if not latency.get("arrived"):
        return ["No change arrived in Zoho in time."]
    return [
        f"{latency['changes']} customers changed one at a time, every {latency['spacing_s']} s,"
        f" poll interval {latency['poll_interval_s']} s; {latency['arrived']} arrived."
        f" From the change in Sage to the write in Zoho: **p50 {latency['p50_s']:.2f} s,"
        f" p99 {latency['p99_s']:.2f} s** (mean {latency['mean_s']:.2f} s,"
        f" max {latency['max_s']:.2f} s).",
        *render_pipeline(latency),
    ]


def render_pipeline(latency: dict[str, Any]) -> list[str]:
    pipe, full = latency.get("pipeline"), latency.get("full_at_15_min_cadence")
    if not pipe or not full:
        return []
    return [
        "",
        f"Pipeline, from the change event's emission (the poll that saw the change) to the"
        f" write in Zoho: **p50 {pipe['p50_s']:.2f} s, p99 {pipe['p99_s']:.2f} s** (mean"
        f" {pipe['mean_s']:.2f} s, max {pipe['max_s']:.2f} s). At the default"
        f" {full['cadence_s'] / 60:.0f}-minute cadence the full change latency is, computed"
        f" (cadence/2 mean wait for the poll, plus the pipeline): mean {full['mean_s']:.0f} s,"
        f" p99 {full['p99_s']:.0f} s.",
    ]


def render_naive(naive: dict[str, Any]) -> list[str]:
    lines = [
        f"Zoho latency {naive['latency_ms']} ms. {naive['sample_records']:,} records synced"
        f" in {_num(naive['measured_seconds'], ' s')}"
        f" ({_num(naive['records_per_s'], ' records/s', 2)};"
        f" reading {_num(naive['read_seconds'], ' s')},"
        f" writing {_num(naive['write_seconds'], ' s')}),"
        f" {naive['calls']:,} Zoho calls and {naive['credits']:,} credits"
        f" ({_num(naive['calls_per_1000'])} calls and {_num(naive['credits_per_1000'])} credits"
        f" per 1,000 records), {naive['failed']} failed.",
    ]
    full = human_duration(naive["full_load_seconds"])
    if naive["extrapolated"]:
        lines.append(
            f"**Extrapolated, not measured:** the full load of {naive['full_load_records']:,}"
            f" records would take about {full}"
            f" ({_num(naive.get('full_load_records_per_s'), ' records/s', 2)}): its"
            " one-call-per-record writes at the sample's pace (they scale linearly), plus one"
            f" full read of every table ({_num(naive.get('full_load_read_seconds'), ' s')}, the"
            " pipeline's measured initial Sage poll). The sample was run instead of the whole"
            " load."
        )
    else:
        lines.append(f"This was the whole load ({full}).")
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    run = results["run"]
    load = run["load"]
    out = [
        "# Benchmark results",
        "",
        f"`{run['command']}` — {run['started_at']}, {human_duration(run['duration_s'])}"
        f" (scale {run['scale']}: {load['customers']:,} customers + {load['contacts']:,}"
        f" contacts, one tenant, Zoho {run['edition']} edition).",
        "",
        *targets.render(results),
        "",
        "## Machine",
        *render_machine(results["machine"]),
        "",
        "## Initial load through the four services",
        "Timed from enabling the tenant (its poller starts within a second) to the last record"
        " written in the Zoho emulator. The ceiling at a latency is Zoho's: 10 parallel"
        " 100-record upserts, each taking that latency. Cores busy: every measured process"
        " (services, emulators, agent, Kafka, PostgreSQL) over the load; near the machine's"
        " cores, the CPU is what bounds it.",
        "",
        *render_throughput(results["throughput"]),
        "",
        "## Zoho calls and credits per change",
        *render_changes(results["calls_per_change"], results["idle_repoll"]),
        "",
        "## Change latency",
        *render_latency(results["change_latency"]),
        "",
        "## Peak memory (RSS) of each service",
        *_table(
            ("service", "peak RSS"),
            [(name, _num(mib, " MiB")) for name, mib in results["peak_rss_mib"].items()],
        ),
        "",
        *scale_out.render(results.get("scale_out")),
        "",
        "## Naive reference sync (one Zoho call per record, sequential)",
        *render_naive(results["naive"]),
        "",
        "## Capacity model inputs (docs/capacity.md)",
        *(render_capacity(results["capacity"]) if results.get("capacity") else ["Not measured."]),
        "",
        "## Fairness: many tenants, one initial load (bench/fairness.py)",
        *(render_fairness(results["fairness"]) if results.get("fairness") else ["Not measured."]),
    ]
    if results.get("notes"):
        out += ["", "## Notes", *(f"- {note}" for note in results["notes"])]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Re-render results.md and the chart from a results.json: python -m bench.report FILE."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m bench.report docs/bench/results.json")
    source = Path(args[0])
    for path in write(json.loads(source.read_text()), source.parent):
        print(f"wrote {path}")


def write(results: dict[str, Any], out_dir: Path) -> list[Path]:
    from bench.chart import draw

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "results.md", out_dir / "throughput.png"]
    paths[0].write_text(json.dumps(results, indent=2) + "\n")
    paths[1].write_text(render_markdown(results))
    draw(results, paths[2])
    return paths


if __name__ == "__main__":
    main()
