"""The benchmark's chart: records/s against Zoho's ceiling, and the change latencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt


def throughput_bars(results: dict[str, Any]) -> list[tuple[str, float]]:
    """(label, records/s) for the bar panel, in a fixed order."""
    throughput, naive = results["throughput"], results["naive"]
    slow = throughput["latency_300ms"]
    ms = slow["latency_ms"]
    return [
        ("pipeline\n0 ms", float(throughput["latency_0ms"]["records_per_s"])),
        (f"pipeline\n{ms} ms", float(slow["records_per_s"])),
        (f"Zoho ceiling\n{ms} ms", float(slow["ceiling_records_per_s"] or 0.0)),
        (
            f"naive\n{naive['latency_ms']} ms"
            + ("\n(extrapolated)" if naive["extrapolated"] else ""),
            float(naive.get("full_load_records_per_s", naive["records_per_s"])),
        ),
    ]


def draw(results: dict[str, Any], path: Path) -> None:
    fig, (bars_ax, latency_ax) = plt.subplots(1, 2, figsize=(12, 4.8))
    bars = throughput_bars(results)
    labels, values = [b[0] for b in bars], [max(b[1], 0.01) for b in bars]
    colours = ["#2b6cb0", "#2b6cb0", "#a0aec0", "#c05621"]
    bars_ax.bar(labels, values, color=colours)
    bars_ax.set_yscale("log")
    bars_ax.set_ylabel("records/s (log scale)")
    bars_ax.set_title("Initial load, records/s")
    for x, value in enumerate(values):
        bars_ax.annotate(f"{value:,.1f}", (x, value), ha="center", va="bottom", fontsize=9)
    draw_latency(latency_ax, results["change_latency"])
    run = results["run"]
    fig.suptitle(
        f"ml-connector benchmark, scale {run['scale']}"
        f" ({run['load']['records']:,} records), {run['started_at'][:16]}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_latency(ax: Any, latency: dict[str, Any]) -> None:
    values = sorted(latency.get("latencies_s", []))
    ax.set_title(f"Change latency, Sage stamp → Zoho write ({latency['poll_interval_s']} s polls)")
    if not values:
        ax.text(0.5, 0.5, "no change arrived", ha="center", transform=ax.transAxes)
        return
    share = [(i + 1) / len(values) for i in range(len(values))]
    ax.step(values, share, where="post", color="#2b6cb0")
    for name, colour in (("p50_s", "#2f855a"), ("p99_s", "#c05621")):
        ax.axvline(latency[name], color=colour, linestyle="--")
        ax.annotate(
            f"{name[:3]} {latency[name]:.2f} s",
            (latency[name], 0.05 if name == "p50_s" else 0.15),
            xytext=(4, 0) if name == "p50_s" else (-4, 0),
            textcoords="offset points",
            ha="left" if name == "p50_s" else "right",
            color=colour,
        )
    ax.set_xlabel("seconds")
    ax.set_ylabel("share of changes written")
    ax.set_ylim(0, 1.02)
