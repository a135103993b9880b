"""What `mlc-dev demo` shows: per entity, records polled, mapped, written and failed, with rates.

While it runs, the counts are the services' own `mlc.records` counters (received over OTLP, see
demo_otlp: free to read), and whether each record has its final answer comes from the audit's
per-record projection (one small GROUP BY). The summary at the end counts the audit log itself,
what an operator can later trail and replay. On a terminal the view redraws in place; elsewhere
it prints plain lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

import asyncpg
from mlc_cli.common import table
from mlc_cli.progress import Clock, Progress, human_count, human_duration

from mlc_devtools.demo_otlp import Received

COUNTS = """
SELECT entity,
  count(*) FILTER (WHERE event_type IN ('sage.record.changed', 'sage.record.deleted')) AS polled,
  count(*) FILTER (WHERE event_type IN ('zoho.upsert.requested', 'zoho.delete.requested'))
    AS mapped,
  count(*) FILTER (WHERE event_type = 'zoho.write.outcome' AND payload->>'status' = 'succeeded')
    AS written,
  count(*) FILTER (WHERE event_type = 'zoho.write.outcome'
    AND payload->>'status' IN ('skipped_unchanged', 'skipped_stale')) AS unchanged,
  count(*) FILTER (WHERE (event_type = 'zoho.write.outcome' AND payload->>'status' = 'failed')
    -- the writer's dead letters repeat its failed outcomes; count those once
    OR (event_type = 'mlc.dead_letter' AND payload->>'stage' IS DISTINCT FROM 'zoho-writer'))
    AS failed,
  -- records with a final answer (a deferred write is still to come)
  count(DISTINCT source_key) FILTER (WHERE event_type = 'mlc.dead_letter'
    OR (event_type = 'zoho.write.outcome' AND payload->>'status' <> 'deferred')) AS settled
FROM audit_events
WHERE tenant_id = $1 AND entity IS NOT NULL
GROUP BY entity
"""
FAILURE_REASONS = """
SELECT entity, coalesce(payload->>'error_code', payload->>'error_class', 'unknown') AS reason,
       count(*) AS n, min(source_key) AS example
FROM audit_events
WHERE tenant_id = $1 AND ((event_type = 'zoho.write.outcome' AND payload->>'status' = 'failed')
   OR (event_type = 'mlc.dead_letter' AND payload->>'stage' IS DISTINCT FROM 'zoho-writer'))
GROUP BY 1, 2 ORDER BY n DESC
"""
SETTLED = """
SELECT entity, count(*) AS settled FROM audit_records
WHERE tenant_id = $1 AND (failure_count > 0
  OR last_outcome IN ('succeeded', 'failed', 'skipped_stale', 'skipped_unchanged'))
GROUP BY entity
"""
STAGES = ("polled", "mapped", "written", "unchanged", "failed")
# `mlc.records` stages (mlc_core.telemetry.stage_of) by the view's column
COLUMN_OF_STAGE = {
    "polled": "polled",
    "sage.record.deleted": "polled",
    "mapped": "mapped",
    "zoho.delete.requested": "mapped",
    "written": "written",
    "skipped_stale": "unchanged",
    "skipped_unchanged": "unchanged",
    "failed": "failed",
    "dead_lettered": "failed",
}


@dataclass(frozen=True)
class EntityCounts:
    """Events per stage; `unchanged` are writes Zoho needed no call for (it had that content
    or a newer version), `settled` the records that have a final answer."""

    polled: int = 0
    mapped: int = 0
    written: int = 0
    unchanged: int = 0
    failed: int = 0
    settled: int = 0


Counts = dict[str, EntityCounts]


async def fetch_counts(pool: asyncpg.Pool, tenant_id: str) -> Counts:
    rows = await pool.fetch(COUNTS, tenant_id)
    return {r["entity"]: EntityCounts(*(int(r[s]) for s in (*STAGES, "settled"))) for r in rows}


def counts_from_metrics(
    records: Mapping[tuple[str, str, str], int], settled: Mapping[str, int]
) -> Counts:
    """`records` is (service, entity, stage) -> count; `settled` records per entity."""
    totals: dict[str, dict[str, int]] = {}
    for (service, entity, stage), n in records.items():
        column = COLUMN_OF_STAGE.get(stage)
        # The writer's dead letters repeat its failed outcomes: counted once, as outcomes.
        if column is None or not entity or (stage == "dead_lettered" and service == "zoho-writer"):
            continue
        row = totals.setdefault(entity, dict.fromkeys(STAGES, 0))
        row[column] += n
    return {
        entity: EntityCounts(**totals.get(entity, {}), settled=settled.get(entity, 0))
        for entity in sorted(set(totals) | set(settled))
    }


async def live_counts(received: Received, pool: asyncpg.Pool, tenant_id: str) -> Counts:
    settled = {r["entity"]: int(r["settled"]) for r in await pool.fetch(SETTLED, tenant_id)}
    return counts_from_metrics(received.record_counts(tenant_id), settled)


async def failure_reasons(pool: asyncpg.Pool, tenant_id: str) -> list[list[str]]:
    rows = await pool.fetch(FAILURE_REASONS, tenant_id)
    return [[r["entity"] or "-", r["reason"], str(r["n"]), r["example"] or "-"] for r in rows]


@dataclass
class DemoView:
    """Turns successive counts into the live view; `expected` is the initial load per entity."""

    tenant_id: str
    expected: Mapping[str, int]
    stream: TextIO
    clock: Clock
    tty: bool
    rates: dict[str, Progress] = field(default_factory=dict)
    load: Progress | None = None
    loaded_after: float | None = None
    _drawn_lines: int = 0

    def __post_init__(self) -> None:
        self.load = self._progress("initial load", sum(self.expected.values()))
        self.rates = {e: self._progress(e, n) for e, n in self.expected.items()}

    def _progress(self, label: str, total: int | None) -> Progress:
        # Silent: the view draws the figures itself; Progress only measures rate and ETA.
        # The audit service stores events in batches: a longer window than Progress's default
        # keeps the rates from jumping between zero and a burst at every refresh.
        return Progress(
            label, total=total, stream=self.stream, mode="silent", clock=self.clock, window=30.0
        )

    def update(self, counts: Counts, note: str = "") -> None:
        # Every entity from the start, so the view does not grow as feeds begin to answer.
        counts = {e: EntityCounts() for e in self.expected} | counts
        for entity, row in counts.items():
            self.rates.setdefault(entity, self._progress(entity, None)).update(row.written)
        assert self.load is not None
        settled = sum(min(c.settled, self.expected.get(e, 0)) for e, c in counts.items())
        self.load.update(settled)
        if self.loaded_after is None and settled >= sum(self.expected.values()):
            self.loaded_after = self.load.elapsed()
        self._draw(self.lines(counts, note))

    def live_for(self) -> float:
        """Seconds since the initial load completed (0 until then)."""
        assert self.load is not None
        return 0.0 if self.loaded_after is None else self.load.elapsed() - self.loaded_after

    def headline(self) -> str:
        assert self.load is not None
        if self.loaded_after is not None:
            took, live = human_duration(self.loaded_after), human_duration(self.live_for())
            return f"initial load done in {took}; live changes flowing for {live}"
        return self.load.text()

    def lines(self, counts: Counts, note: str) -> list[str]:
        assert self.load is not None
        head = f"tenant {self.tenant_id}  {self.headline()}"
        if not self.tty:
            return [head, *self._plain_rows(counts), *([note] if note else [])]
        return [head, counts_table(counts, self.rates), *([note] if note else [])]

    def _plain_rows(self, counts: Counts) -> list[str]:
        return [
            f"  {entity:<17} "
            + " ".join(f"{s}={getattr(c, s):<6}" for s in STAGES)
            + f" written/s={self.rates[entity].rate():.1f}"
            for entity, c in sorted(counts.items())
        ]

    def _draw(self, lines: list[str]) -> None:
        text = "\n".join(lines)
        if self.tty and self._drawn_lines:
            # Back to the first line of the previous frame, and clear everything below it.
            self.stream.write(f"\x1b[{self._drawn_lines}F\x1b[J")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn_lines = text.count("\n") + 1


def counts_table(counts: Counts, rates: Mapping[str, Progress] | None = None) -> str:
    rows = [
        [entity, *(human_count(getattr(c, s)) for s in STAGES)]
        + ([f"{rates[entity].rate():.1f}"] if rates is not None else [])
        for entity, c in sorted(counts.items())
    ]
    totals = [sum(getattr(c, s) for c in counts.values()) for s in STAGES]
    rows.append(["total", *(human_count(t) for t in totals)] + ([""] if rates is not None else []))
    headers = ["ENTITY", "POLLED", "MAPPED", "WRITTEN", "UNCHANGED", "FAILED"]
    return table(rows, headers + (["WRITTEN/S"] if rates is not None else []))
