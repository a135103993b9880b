"""The noisy-neighbour verdict (chaos/noisy_verify.py): what fails the run and what the table
shows."""

from __future__ import annotations

import httpx

from chaos.noisy_latency import LatencyProbe
from chaos.noisy_verify import NoisyReport, TenantResult, percentile, render


def healthy(name: str, noisy: list[float], quiet: list[float], **counts: int) -> TenantResult:
    values = {"expected": 10, "correct": 10, "lost": 0, "duplicated": 0} | counts
    return TenantResult(name, "healthy", latencies_s=noisy, quiet_latencies_s=quiet, **values)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([], 0.5) is None


def test_a_quiet_run_within_bounds_passes_and_shows_every_column() -> None:
    report = NoisyReport(
        "noisy", [healthy("n01", [2.0, 3.0, 9.0], [2.0, 4.0, 6.0])], replays_by_hand=0
    )
    assert report.failures == [] and report.exit_code == 0
    table = render(report)
    assert "n01" in table and "9.0" in table and "6.0" in table
    assert "failed-only replays run: 0" in table and table.endswith("PASS")


def test_lost_duplicated_stale_and_slow_tenants_fail_by_name() -> None:
    tenants = [
        healthy("n01", [1.0], [1.0], correct=9, lost=1),
        healthy("n02", [1.0], [1.0], duplicated=2),
        healthy("n03", [13.0], [6.0]),  # bound 2 x 6 s = 12 s
        healthy("n04", [9.0], [1.0]),  # the 5 s floor: bound 10 s, 9 s passes
        healthy("n05", [], [1.0]),
        TenantResult("n18", "revoked token", expected=5, correct=5, lost=0, duplicated=0),
    ]
    report = NoisyReport("noisy", tenants, replays_by_hand=1)
    assert report.failures == [
        "n01 (healthy): 1 lost",
        "n01 (healthy): 1 not at Sage's latest version",
        "n02 (healthy): 2 duplicated",
        "n03 (healthy): p99 13.0s > 12.0s",
        "n05 (healthy): no latency measured",
        "1 failed-only replays run by hand",
    ]
    assert report.exit_code == 1 and "FAIL" in render(report)


async def test_the_probe_settles_every_version_up_to_the_one_zoho_shows() -> None:
    shown = {"v": 1}

    def answer(request: httpx.Request) -> httpx.Response:
        name = f"Chaos customer 000001 v{shown['v']}"
        return httpx.Response(
            200, json={"data": [{"Sage_Customer_No": "01-CH000001", "Account_Name": name}]}
        )

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), base_url="http://z"
    ) as zoho:
        probe = LatencyProbe(zoho, ["t1"])
        probe.wrote("t1", "01-CH000001", 2)
        probe.wrote("t1", "01-CH000001", 3)
        probe.wrote("other", "01-CH000001", 2)  # not watched: ignored
        await probe._look("t1")
        assert probe.pending() == 2 and probe.samples["t1"] == []
        shown["v"] = 2
        await probe._look("t1")
        assert probe.pending() == 1 and len(probe.samples["t1"]) == 1
        shown["v"] = 4  # v3 overtaken before it was seen: settled with v4
        await probe._look("t1")
        taken = probe.take()
        assert probe.pending() == 0 and len(taken["t1"]) == 2 and probe.samples["t1"] == []
