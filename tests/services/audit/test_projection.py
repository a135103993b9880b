from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from audit.projection import fold
from audit.service import to_row
from mlc_core.contracts import DeadLetter, OutcomeStatus, ZohoWriteOutcome, caused_by, encode

from tests.factories import FakeRecord, command

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def outcome(status: OutcomeStatus, minutes: int, version: str = "20261126 09.000000", **kw: object):
    cmd = command(key="01-ABF", version=version)
    event = ZohoWriteOutcome(
        **caused_by(cmd),
        occurred_at=T0 + timedelta(minutes=minutes),
        module="Accounts",
        external_value="01-ABF",
        source_version=version,
        status=status,
        **kw,
    )
    return to_row(FakeRecord(value=encode(event), topic="mlc.zoho.outcomes", offset=minutes))


def test_last_outcome_is_the_latest_whatever_the_batch_order() -> None:
    failed = outcome(OutcomeStatus.FAILED, 1, error_code="INTERNAL_ERROR", error_message="503")
    ok = outcome(OutcomeStatus.SUCCEEDED, 2, zoho_id="77", action="update")
    for rows in ([failed, ok], [ok, failed]):
        (delta,) = fold(rows)
        assert delta.last_outcome == "succeeded" and delta.zoho_id == "77"
        assert delta.failures == 1 and delta.last_error_code == "INTERNAL_ERROR"


@pytest.mark.parametrize(
    "status",
    [OutcomeStatus.SKIPPED_STALE, OutcomeStatus.SKIPPED_UNCHANGED, OutcomeStatus.DEFERRED],
)
def test_no_call_outcomes_leave_a_failure_standing_and_version_is_the_greatest(
    status: OutcomeStatus,
) -> None:
    failed = outcome(OutcomeStatus.FAILED, 1, version="20261126 10.000000", error_code="X")
    stale = outcome(status, 2, version="20261126 08.000000")
    (delta,) = fold([failed, stale])
    assert delta.last_outcome == "failed" and delta.source_version == "20261126 10.000000"


def test_writer_dead_letters_are_not_counted_twice_but_mapper_ones_are() -> None:
    cmd = command()
    rows = []
    for stage in ("zoho-writer", "mapper"):
        letter = DeadLetter(
            **caused_by(cmd),
            stage=stage,
            error_class="MappingError" if stage == "mapper" else "INTERNAL_ERROR",
            error_message="boom",
            original_topic="mlc.zoho.commands",
            original={},
        )
        rows.append(to_row(FakeRecord(value=encode(letter), topic="mlc.deadletters")))
    (delta,) = fold(rows)
    assert delta.failures == 1 and delta.last_error_code == "MappingError"


def test_events_without_a_record_key_are_ignored() -> None:
    assert fold([to_row(FakeRecord(value=b"garbage"))]) == []
