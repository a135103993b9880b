"""The benchmark's arithmetic (pure): percentiles, Zoho's ceiling, ratios, extrapolation.

Kept apart from the code that drives the stack so tests/bench/test_figures.py checks it in CI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Zoho caps heavy writes (upserts of more than 10 records) at 10 in flight in every edition,
# and a write call takes at most 100 records: the most records one org can take at a time.
ZOHO_HEAVY_CONCURRENCY = 10
ZOHO_RECORDS_PER_CALL = 100
CREDITS_PER_FULL_BATCH = 10  # one credit per 10 records written


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ceiling_records_per_second(
    latency_s: float,
    *,
    concurrency: int = ZOHO_HEAVY_CONCURRENCY,
    batch: int = ZOHO_RECORDS_PER_CALL,
) -> float:
    """Zoho's ceiling for one org: `concurrency` parallel `batch`-record upserts, each taking
    `latency_s`. Infinite without latency (then the pipeline is the only limit)."""
    if latency_s <= 0:
        return math.inf
    return concurrency * batch / latency_s


def rate(records: int, seconds: float) -> float:
    """Records per second; 0 when nothing was timed."""
    return records / seconds if seconds > 0 else 0.0


def ratio(measured: float, ceiling: float) -> float | None:
    """How much of the ceiling was reached (1.0 = all of it); None without a finite ceiling."""
    if not math.isfinite(ceiling) or ceiling <= 0:
        return None
    return measured / ceiling


def per_thousand(count: float, records: int) -> float:
    """`count` normalised to 1,000 records."""
    if records <= 0:
        raise ValueError("per_thousand needs at least one record")
    return count * 1000 / records


def extrapolate_seconds(sample_records: int, sample_seconds: float, total_records: int) -> float:
    """Time for `total_records` at the sample's per-record pace (a sequential sync scales
    linearly: every record costs the same round trips)."""
    if sample_records <= 0:
        raise ValueError("cannot extrapolate from an empty sample")
    return sample_seconds / sample_records * total_records


def naive_full_seconds(
    *, sample_records: int, sample_write_seconds: float, total_records: int, read_seconds: float
) -> float:
    """A naive sync of the whole load: its one-call-per-record writes scale linearly with the
    records, while its read is one full read of every table through the agent (taken from the
    pipeline's measured initial poll, the same read; a sample's few pages would overstate it,
    since the agent scans a whole table for any page)."""
    writes = extrapolate_seconds(sample_records, sample_write_seconds, total_records)
    return writes + read_seconds


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50, p99, mean and max of change latencies (seconds)."""
    return {
        "p50_s": percentile(latencies_s, 50),
        "p99_s": percentile(latencies_s, 99),
        "mean_s": sum(latencies_s) / len(latencies_s),
        "max_s": max(latencies_s),
    }


def ideal_calls(records: int) -> int:
    """The fewest write calls that can carry `records` (full 100-record batches)."""
    return math.ceil(records / ZOHO_RECORDS_PER_CALL)


def human_duration(seconds: float) -> str:
    """'12.5 s', '7.5 min', '12.5 h'."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
