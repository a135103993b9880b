"""Pure: what a chaos run must show afterwards, computed from what was observed.

- records: every record Sage holds is in Zoho exactly once, with Sage's latest version;
- audit: every message on every product topic partition is in the audit log (at its own
  offset, or, for a redelivered copy of an event, under the same event id);
- failures: every failed write outcome is followed by a success for the same record.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

SAMPLES = 5  # keys shown per problem, enough to start a trail (`mlc audit trail`)
RECOVERED = frozenset({"succeeded", "skipped_unchanged"})


@dataclass(frozen=True, order=True)
class RecordKey:
    tenant: str
    module: str
    key: str

    def __str__(self) -> str:
        return f"{self.tenant} {self.module} {self.key}"


@dataclass
class RecordCheck:
    expected: int = 0
    correct: int = 0
    stale: list[RecordKey] = field(default_factory=list)  # in Zoho, not Sage's latest version
    duplicated: list[RecordKey] = field(default_factory=list)  # in Zoho more than once
    lost: list[RecordKey] = field(default_factory=list)  # not in Zoho at all
    unexpected: list[RecordKey] = field(default_factory=list)  # in Zoho, not in Sage

    @property
    def converged(self) -> bool:
        return self.correct == self.expected and not (self.duplicated or self.unexpected)


def check_records(
    expected: Mapping[RecordKey, str], found: Iterable[tuple[RecordKey, str]]
) -> RecordCheck:
    """`expected`: each Sage record's latest version marker; `found`: each Zoho record's."""
    seen: dict[RecordKey, list[str]] = defaultdict(list)
    for key, marker in found:
        seen[key].append(marker)
    check = RecordCheck(expected=len(expected))
    for key, marker in expected.items():
        markers = seen.get(key)
        if not markers:
            check.lost.append(key)
        elif markers == [marker]:
            check.correct += 1
        elif len(markers) == 1:
            check.stale.append(key)
    check.duplicated = sorted(k for k, markers in seen.items() if len(markers) > 1)
    check.unexpected = sorted(k for k in seen if k not in expected)
    return check


@dataclass(frozen=True)
class KafkaMessage:
    topic: str
    partition: int
    offset: int
    event_id: uuid.UUID | None  # None: not an event (the audit keeps it as undecodable)


@dataclass
class AuditCheck:
    messages: int = 0
    at_offset: int = 0  # stored with this very topic/partition/offset
    redelivered: int = 0  # a second copy of an event the log already holds
    gaps: list[KafkaMessage] = field(default_factory=list)
    partitions: int = 0


def check_audit(
    messages: Iterable[KafkaMessage],
    stored_offsets: set[tuple[str, int, int]],
    stored_ids: set[uuid.UUID],
) -> AuditCheck:
    check = AuditCheck()
    partitions: set[tuple[str, int]] = set()
    for msg in messages:
        check.messages += 1
        partitions.add((msg.topic, msg.partition))
        if (msg.topic, msg.partition, msg.offset) in stored_offsets:
            check.at_offset += 1
        elif msg.event_id is not None and msg.event_id in stored_ids:
            check.redelivered += 1
        else:
            check.gaps.append(msg)
    check.partitions = len(partitions)
    return check


@dataclass(frozen=True)
class Outcome:
    tenant: str
    entity: str
    key: str
    status: str
    at: datetime


@dataclass
class FailureCheck:
    failed: int = 0
    paired: int = 0
    unpaired: list[Outcome] = field(default_factory=list)


def check_failures(outcomes: Sequence[Outcome]) -> FailureCheck:
    """Each failed outcome needs a later success (written, or found already written) for the
    same record: a failure the pipeline never recovered from is a record left behind."""
    last_success: dict[tuple[str, str, str], datetime] = {}
    for o in outcomes:
        if o.status in RECOVERED:
            record = (o.tenant, o.entity, o.key)
            last_success[record] = max(o.at, last_success.get(record, o.at))
    check = FailureCheck()
    for o in outcomes:
        if o.status != "failed":
            continue
        check.failed += 1
        success = last_success.get((o.tenant, o.entity, o.key))
        if success is not None and success > o.at:
            check.paired += 1
        else:
            check.unpaired.append(o)
    return check


@dataclass(frozen=True)
class CorpusRow:
    name: str
    category: str
    expected: str
    observed: str
    passed: bool


@dataclass
class Report:
    title: str
    faults: Counter[str]
    records: RecordCheck
    audit: AuditCheck
    failures: FailureCheck
    unexpected_exits: Counter[str] = field(default_factory=Counter)
    not_injected: Counter[str] = field(default_factory=Counter)
    settled_in_s: float | None = None  # None: did not converge before the timeout
    replays: int = 0
    corpus: list[CorpusRow] | None = None  # None: the bad-input corpus is not available

    @property
    def problems(self) -> list[str]:
        """Why the run fails; empty when it passes."""
        out = []
        r = self.records
        for label, items in (
            ("lost", r.lost),
            ("duplicated", r.duplicated),
            ("not at the latest version", r.stale),
            ("in Zoho but not in Sage", r.unexpected),
        ):
            if items:
                out.append(f"{len(items)} records {label}: {_sample(items)}")
        if self.audit.gaps:
            out.append(f"{len(self.audit.gaps)} Kafka messages missing from the audit log")
        if self.failures.unpaired:
            out.append(f"{len(self.failures.unpaired)} failed outcomes without a later success")
        if self.not_injected:
            out.append(f"faults not injected (harness error): {dict(self.not_injected)}")
        failed_cases = [c.name for c in self.corpus or [] if not c.passed]
        if failed_cases:
            out.append(f"{len(failed_cases)} bad-input cases failed: {_sample(failed_cases)}")
        return out

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0


def _sample(items: Sequence[object]) -> str:
    shown = ", ".join(str(i) for i in items[:SAMPLES])
    return shown + (f" (+{len(items) - SAMPLES} more)" if len(items) > SAMPLES else "")


def render(report: Report) -> str:
    lines = [report.title, ""]
    lines += _table(("fault injected", "count"), sorted(report.faults.items()))
    lines += ["", *_table(("records", ""), _record_rows(report))]
    lines += ["", *_table(("audit log and failures", ""), _audit_rows(report))]
    lines += ["", *_corpus_lines(report.corpus), ""]
    problems = report.problems
    lines += [f"FAIL: {p}" for p in problems] if problems else ["PASS"]
    return "\n".join(lines)


def _record_rows(report: Report) -> list[tuple[str, object]]:
    r = report.records
    settled = (
        "no (timed out or stuck)" if report.settled_in_s is None else f"{report.settled_in_s:.0f} s"
    )
    return [
        ("records expected", r.expected),
        ("records correct (latest version in Zoho)", r.correct),
        ("duplicates (same external key twice)", len(r.duplicated)),
        ("lost", len(r.lost)),
        ("stale (older version in Zoho)", len(r.stale)),
        ("in Zoho but not in Sage", len(r.unexpected)),
        ("settled after the chaos window", settled),
    ]


def _audit_rows(report: Report) -> list[tuple[str, object]]:
    a, f = report.audit, report.failures
    exits = ", ".join(f"{k} x{v}" for k, v in sorted(report.unexpected_exits.items())) or "none"
    return [
        ("Kafka messages checked", f"{a.messages} in {a.partitions} partitions"),
        ("  in the audit log at their offset", a.at_offset),
        ("  redelivered copies (event id stored)", a.redelivered),
        ("  audit gaps", len(a.gaps)),
        ("failed outcomes", f.failed),
        ("  paired with a later success", f.paired),
        ("  unpaired", len(f.unpaired)),
        ("failed-only replays run", report.replays),
        ("unexpected process exits (restarted)", exits),
    ]


def _corpus_lines(corpus: list[CorpusRow] | None) -> list[str]:
    if corpus is None:
        return ["corpus: not available"]
    rows = [
        (c.category, c.name, _cut(c.expected), _cut(c.observed), "ok" if c.passed else "FAIL")
        for c in corpus
    ]
    passed = sum(c.passed for c in corpus)
    header = ("category", "case", "expected", "observed", "")
    return [f"bad-input corpus: {passed}/{len(corpus)} passed", *_table(header, rows)]


def _cut(text: str, width: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()

    return [line(cells[0]), line(["-" * w for w in widths]), *(line(r) for r in cells[1:])]
