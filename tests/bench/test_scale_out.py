"""The scale-out scenario's arithmetic and its section of results.md (pure)."""

from __future__ import annotations

import pytest

from bench.capacity import Snapshot, cores_busy
from bench.scale_out import per_replica, render

pytestmark = pytest.mark.unit


def load(records_per_s: float, latency_ms: int = 300) -> dict[str, object]:
    return {
        "latency_ms": latency_ms,
        "records_expected": 3000,
        "records_written": 3000,
        "seconds": 3000 / records_per_s,
        "records_per_s": records_per_s,
        "ratio_to_ceiling": round(records_per_s / (1000 / 0.3), 3),
        "zoho_max_in_flight": 8,
        "zoho_429": 0,
    }


def test_each_replica_count_is_measured_against_the_ceiling_its_split_leaves() -> None:
    # 10 calls over 3 replicas is 3 each: 9 calls, 3,000 records/s at 300 ms.
    three = per_replica(load(1500.0), 3)
    assert three["records_per_s_per_replica"] == 500.0
    assert three["usable_ceiling_records_per_s"] == 3000.0
    assert three["ratio_to_usable_ceiling"] == 0.5
    assert per_replica(load(1500.0), 1)["usable_ceiling_records_per_s"] == 3333.3
    # Past 10 replicas each keeps one call, but the org never takes more than 10.
    assert per_replica(load(1500.0), 12)["usable_ceiling_records_per_s"] == 3333.3
    without_latency = per_replica(load(900.0, latency_ms=0) | {"ratio_to_ceiling": None}, 2)
    assert without_latency["ratio_to_usable_ceiling"] is None
    assert without_latency["usable_ceiling_records_per_s"] is None


def test_the_section_has_a_row_per_replica_count_and_is_absent_from_older_results() -> None:
    scale = {"latency_ms": 300, "runs": {"1": per_replica(load(600.0), 1)}}
    text = "\n".join(render(scale))
    assert "## Scale-out: 1, 2 and 4 replicas" in text
    assert "| 1 | 3,000/3,000 | 5.0 s | 600.0 | 600.0 | 18.0% | 18.0% | 8 | 0 |" in text
    assert render(None) == [] and render({}) == []


def test_cores_busy_counts_every_measured_process_over_the_load() -> None:
    before = Snapshot(10.0, {"mlc-mapper": 1.0, "postgresql": 5.0}, {}, 0)
    after = Snapshot(20.0, {"mlc-mapper": 4.0, "postgresql": 11.0, "mlc-mapper#2": 9.5}, {}, 0)
    assert cores_busy(before, after) == 1.85  # (3 + 6 + 9.5) / 10 s; a replica started since
    run = per_replica(load(500.0), 2) | {"cores_busy": 1.85}
    assert "| 0 | 1.85 |" in "\n".join(render({"latency_ms": 300, "runs": {"2": run}}))
