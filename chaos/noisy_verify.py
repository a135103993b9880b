"""Pure: the noisy-neighbour verdict and its table, from what a run observed.

Per tenant: records expected, correct (in Zoho once at Sage's latest version), lost,
duplicated, and the p50/p99 change latency (Sage write -> the version visible in Zoho). The
bounds: 0 lost and 0 duplicated for every tenant; each healthy tenant's p99 within 2x its p99
in the quiet run (with a floor: on a quiet 2-core machine a few seconds' p99 doubles on noise
alone); no replay run by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

P99_FACTOR = 2.0
# Below this a quiet p99 is the poll interval plus scheduling noise, and twice it is no bound.
P99_FLOOR_S = 5.0


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (share in (0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class TenantResult:
    tenant: str
    role: str  # "healthy", or the trouble it makes: "poison", "revoked token", ...
    expected: int
    correct: int
    lost: int
    duplicated: int
    latencies_s: list[float] = field(default_factory=list)
    quiet_latencies_s: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float | None:
        return percentile(self.latencies_s, 0.5)

    @property
    def p99(self) -> float | None:
        return percentile(self.latencies_s, 0.99)

    @property
    def quiet_p99(self) -> float | None:
        return percentile(self.quiet_latencies_s, 0.99)

    @property
    def latency_bound(self) -> float | None:
        quiet = self.quiet_p99
        return None if quiet is None else P99_FACTOR * max(quiet, P99_FLOOR_S)

    def problems(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{self.lost} lost")
        if self.duplicated:
            found.append(f"{self.duplicated} duplicated")
        if self.correct != self.expected:
            found.append(f"{self.expected - self.correct} not at Sage's latest version")
        if self.role == "healthy":
            bound, p99 = self.latency_bound, self.p99
            if bound is None or p99 is None:
                found.append("no latency measured")
            elif p99 > bound:
                found.append(f"p99 {p99:.1f}s > {bound:.1f}s")
        return found


@dataclass
class NoisyReport:
    title: str
    tenants: list[TenantResult]
    replays_by_hand: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        found = [f"{t.tenant} ({t.role}): {p}" for t in self.tenants for p in t.problems()]
        if self.replays_by_hand:
            found.append(f"{self.replays_by_hand} failed-only replays run by hand")
        return found

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(report: NoisyReport) -> str:
    head = ("tenant", "role", "expected", "correct", "lost", "dup", "p50 s", "p99 s", "quiet p99")
    rows = [
        (
            t.tenant,
            t.role,
            str(t.expected),
            str(t.correct),
            str(t.lost),
            str(t.duplicated),
            _seconds(t.p50),
            _seconds(t.p99),
            _seconds(t.quiet_p99),
        )
        for t in report.tenants
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [report.title, ""]
    for row in [head, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    lines += ["", f"failed-only replays run: {report.replays_by_hand}", *report.notes, ""]
    failures = report.failures
    lines.append("PASS" if not failures else "FAIL\n" + "\n".join(f"  - {f}" for f in failures))
    return "\n".join(lines)
