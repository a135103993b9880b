from __future__ import annotations

from mlc_core.contracts import DeadLetter, OutcomeStatus, Topics, ZohoWriteOutcome
from mlc_core.zoho.records import RecordResult
from zoho_writer.service import (
    Failure,
    chunks,
    failed,
    latest_per_record,
    outcomes_for,
    split_stale,
)

from tests.factories import command


def test_latest_version_per_record_wins() -> None:
    old, new, other = command(version="1"), command(version="2"), command(key="01-X")
    kept = latest_per_record([new, old, other])
    assert {(c.external_value, c.source_version) for c in kept} == {
        ("01-ABF", "2"),
        ("01-X", "20261126 14.502780"),
    }


def test_stale_and_already_applied_versions_are_not_rewritten() -> None:
    older, same, newer = (
        command(key="A", version="1"),
        command(key="B", version="5"),
        command(key="C", version="9"),
    )
    applied = {("Accounts", "A"): "3", ("Accounts", "B"): "5", ("Accounts", "C"): "4"}
    fresh, stale = split_stale([older, same, newer], applied)
    assert fresh == [newer] and stale == [older, same]


def test_chunks_hold_at_most_100() -> None:
    sizes = [len(c) for _, c in chunks([command(key=f"K{i}") for i in range(250)])]
    assert sizes == [100, 100, 50]


def test_outcomes_follow_results_in_order() -> None:
    a, b = command(key="A"), command(key="B")
    results = [
        RecordResult(ok=True, zoho_id="z1", action="insert"),
        RecordResult(ok=False, code="INVALID_DATA", field="Phone", message="invalid data"),
    ]
    out = outcomes_for([a, b], results)
    assert [t for t, _ in out] == [Topics.ZOHO_OUTCOMES, Topics.ZOHO_OUTCOMES, Topics.DEAD_LETTERS]
    ok, bad, letter = (o for _, o in out)
    assert isinstance(ok, ZohoWriteOutcome) and ok.status is OutcomeStatus.SUCCEEDED
    assert ok.zoho_id == "z1" and ok.causation_id == a.event_id
    assert isinstance(bad, ZohoWriteOutcome) and bad.error_field == "Phone"
    assert isinstance(letter, DeadLetter) and letter.original["event_id"] == str(b.event_id)


def test_failure_message_names_tenant_entity_key_and_field() -> None:
    out = failed(
        command(key="01-ZZ", tenant="globex"), Failure("INVALID_DATA", "bad", False, "Fax")
    )
    message = out[0][1].error_message or ""
    for part in ("globex", "ar_customer", "01-ZZ", "INVALID_DATA", "Fax"):
        assert part in message


def test_failed_and_succeeded_outcomes_of_one_command_have_distinct_ids() -> None:
    cmd = command()
    bad = failed(cmd, Failure("ZohoUnavailable", "down", True))[0][1]
    good = outcomes_for([cmd], [RecordResult(ok=True, zoho_id="1", action="insert")])[0][1]
    assert bad.event_id != good.event_id
