"""The chaos suite's verdict, from observations alone: records, audit coverage, failure pairing,
the fault plan and the printed table (pure logic; the bounce run itself is test_bounce.py)."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from chaos.plan import FaultKind, PlanSpec, build_plan
from chaos.verify import (
    AuditCheck,
    CorpusRow,
    FailureCheck,
    KafkaMessage,
    Outcome,
    RecordKey,
    Report,
    check_audit,
    check_failures,
    check_records,
    render,
)

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def key(n: int, module: str = "Accounts") -> RecordKey:
    return RecordKey("t1", module, f"01-CH{n:06d}")


def test_records_sort_into_correct_stale_lost_duplicated_and_unexpected() -> None:
    expected = {key(1): "v3", key(2): "v2", key(3): "v1", key(4): "v5"}
    found = [(key(1), "v3"), (key(2), "v1"), (key(4), "v5"), (key(4), "v5"), (key(9), "v1")]

    check = check_records(expected, found)

    assert (check.expected, check.correct) == (4, 1)
    assert check.stale == [key(2)]
    assert check.lost == [key(3)]
    assert check.duplicated == [key(4)]  # a duplicate is never "correct", even at the right version
    assert check.unexpected == [key(9)]
    assert not check.converged


def test_records_converge_when_each_is_there_once_at_the_latest_version() -> None:
    expected = {key(1): "v3", key(1, "Contacts"): "v1"}
    check = check_records(expected, [(key(1, "Contacts"), "v1"), (key(1), "v3")])
    assert check.converged and check.correct == 2


def test_audit_accepts_a_redelivered_copy_but_reports_a_missing_message() -> None:
    stored, copy, missing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    messages = [
        KafkaMessage("mlc.sage.changes", 0, 0, stored),
        KafkaMessage("mlc.sage.changes", 0, 1, stored),  # same event produced again
        KafkaMessage("mlc.zoho.outcomes", 3, 7, missing),
        KafkaMessage("mlc.deadletters", 1, 2, None),  # not an event: must be at its offset
        KafkaMessage("mlc.deadletters", 1, 3, None),
    ]
    offsets = {("mlc.sage.changes", 0, 0), ("mlc.deadletters", 1, 2)}

    check = check_audit(messages, offsets, {stored, copy})

    assert (check.messages, check.at_offset, check.redelivered) == (5, 2, 1)
    assert [(m.topic, m.offset) for m in check.gaps] == [
        ("mlc.zoho.outcomes", 7),
        ("mlc.deadletters", 3),
    ]
    assert check.partitions == 3


def outcome(n: int, status: str, minutes: int, entity: str = "ar_customer") -> Outcome:
    return Outcome("t1", entity, f"01-CH{n:06d}", status, T0 + timedelta(minutes=minutes))


def test_a_failure_needs_a_later_success_of_the_same_record() -> None:
    outcomes = [
        outcome(1, "failed", 1),
        outcome(1, "succeeded", 2),  # paired
        outcome(2, "succeeded", 1),
        outcome(2, "failed", 2),  # success only before: unpaired
        outcome(3, "failed", 1),
        outcome(3, "skipped_unchanged", 3),  # Zoho already had it: paired
        outcome(4, "failed", 1),
        outcome(4, "succeeded", 2, entity="customer_contact"),  # another record: unpaired
        outcome(5, "failed", 1),
        outcome(5, "deferred", 2),  # not a success
    ]

    check = check_failures(outcomes)

    assert (check.failed, check.paired) == (5, 2)
    assert [(o.key, o.status) for o in check.unpaired] == [
        ("01-CH000002", "failed"),
        ("01-CH000004", "failed"),
        ("01-CH000005", "failed"),
    ]


def test_the_plan_bounces_every_instance_each_round_one_at_a_time() -> None:
    processes = ("mlc-mapper", "mlc-mapper#2", "mlc-zoho-writer", "mlc-zoho-writer#2", "mlc-audit")
    spec = PlanSpec(seconds=360, seed=7, tenants=("a", "b", "c"), processes=processes)

    plan = build_plan(spec)

    kills = [f for f in plan if f.kind is FaultKind.KILL]
    assert Counter(f.target for f in kills) == {name: 3 for name in processes}
    for earlier, later in itertools.pairwise(kills):
        assert earlier.at + earlier.seconds < later.at  # restarted before the next kill
    expiries = [f for f in plan if f.kind is FaultKind.TOKEN_EXPIRY]
    assert [f.at for f in expiries] == [30.0 * i for i in range(1, 12)]
    assert {f.target for f in expiries} == {"a", "b", "c"}
    kinds = Counter(f.kind for f in plan)
    assert kinds[FaultKind.KAFKA_RESTART] >= 1 and kinds[FaultKind.POSTGRES_RESTART] >= 1
    assert kinds[FaultKind.DC_MOVE] == 1 and kinds[FaultKind.ZOHO_429] >= 2
    assert all(0 <= f.at <= spec.seconds for f in plan)
    assert build_plan(spec) == plan  # the seed decides


def report(**changes: object) -> Report:
    base = Report(
        title="chaos: test",
        faults=Counter({"Kafka broker restart": 1, "SIGKILL + restart mlc-mapper": 6}),
        records=check_records({key(1): "v2"}, [(key(1), "v2")]),
        audit=AuditCheck(messages=10, at_offset=9, redelivered=1, partitions=2),
        failures=FailureCheck(failed=2, paired=2),
        settled_in_s=12.0,
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def cell(text: str, label: str) -> str:
    """The value printed right of `label` in the table."""
    found = re.search(rf"^ *{re.escape(label)} +(\S.*)$", text, re.MULTILINE)
    assert found, f"no row {label!r} in\n{text}"
    return found.group(1)


def test_a_clean_run_passes_and_prints_every_figure() -> None:
    clean = report()
    text = render(clean)

    assert clean.exit_code == 0 and text.endswith("PASS")
    assert cell(text, "SIGKILL + restart mlc-mapper") == "6"
    assert cell(text, "records expected") == "1"
    assert cell(text, "records correct (latest version in Zoho)") == "1"
    assert cell(text, "duplicates (same external key twice)") == "0"
    assert cell(text, "lost") == "0"
    assert cell(text, "redelivered copies (event id stored)") == "1"
    assert cell(text, "audit gaps") == "0"
    assert cell(text, "paired with a later success") == "2"
    assert "corpus: not available" in text


def test_anything_lost_duplicated_unpaired_or_missing_from_the_audit_fails_the_run() -> None:
    lost = report(records=check_records({key(1): "v2", key(2): "v1"}, [(key(1), "v2")]))
    twice = report(records=check_records({key(1): "v2"}, [(key(1), "v2"), (key(1), "v2")]))
    unpaired = report(failures=check_failures([outcome(1, "failed", 1)]))
    gap = report(
        audit=check_audit([KafkaMessage("mlc.zoho.commands", 0, 5, uuid.uuid4())], set(), set())
    )

    for bad, reason in (
        (lost, "1 records lost: t1 Accounts 01-CH000002"),
        (twice, "1 records duplicated"),
        (unpaired, "1 failed outcomes without a later success"),
        (gap, "1 Kafka messages missing from the audit log"),
    ):
        assert bad.exit_code == 1
        assert f"FAIL: {reason}" in render(bad)


def test_corpus_rows_are_part_of_the_table_and_a_failed_case_fails_the_run() -> None:
    rows = [
        CorpusRow("nul in name", "sage", "dead letter naming CustomerName", "as expected", True),
        CorpusRow("huge soap", "agent", "oversized error", "nothing", False),
    ]
    text = render(report(corpus=rows))
    assert "bad-input corpus: 1/2 passed" in text
    assert "huge soap" in text and "FAIL: 1 bad-input cases failed: huge soap" in text
