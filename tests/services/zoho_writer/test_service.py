from __future__ import annotations

from mlc_core.contracts import DeadLetter, OutcomeStatus, Topics, ZohoWriteOutcome
from mlc_core.zoho.records import RecordResult
from zoho_writer.service import (
    Applied,
    Failure,
    Origin,
    chunks,
    content_hash,
    failed,
    latest_per_record,
    module_unavailable,
    outcomes_for,
    triage,
)

from tests.factories import command


def test_latest_version_per_record_wins() -> None:
    old, new, other = command(version="1"), command(version="2"), command(key="01-X")
    kept = latest_per_record([new, old, other])
    assert {(c.external_value, c.source_version) for c in kept} == {
        ("01-ABF", "2"),
        ("01-X", "20261126 14.502780"),
    }


def test_triage_older_same_unchanged_and_changed() -> None:
    older, same, newer, other = (
        command(key="A", version="1"),
        command(key="B", version="5"),
        command(key="C", version="9"),
        command(key="D", version="9"),
    )
    identical_newer = command(key="E", version="9")
    replay_with_new_mapping = command(key="F", version="5", Phone="555-0100")
    applied = {
        ("Accounts", "A"): Applied("3", "z"),
        ("Accounts", "B"): Applied("5", "z", content_hash(same)),
        ("Accounts", "C"): Applied("4", "z", content_hash(command(key="C", Fax="1"))),
        ("Accounts", "E"): Applied("4", "z", content_hash(identical_newer)),
        ("Accounts", "F"): Applied("5", "z", content_hash(command(key="F", version="5"))),
    }
    sorted_ = triage([older, same, newer, other, identical_newer, replay_with_new_mapping], applied)
    assert sorted_.stale == [older, same]
    assert sorted_.unchanged == [identical_newer]  # newer stamp, same content: 0 credits
    assert sorted_.write == [newer, other, replay_with_new_mapping]


def test_same_version_without_a_stored_hash_is_stale_as_before() -> None:
    cmd = command(key="B", version="5")
    sorted_ = triage([cmd], {("Accounts", "B"): Applied("5", "z", None)})
    assert sorted_.stale == [cmd]


def test_dead_letters_carry_their_kafka_origin() -> None:
    cmd = command()
    origin = Origin("mlc.zoho.commands", 3, 4711)
    letter = failed(cmd, Failure("INVALID_DATA", "bad", False), origin)[1][1]
    assert isinstance(letter, DeadLetter)
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        "mlc.zoho.commands",
        3,
        4711,
    )


def test_module_unavailable_warns_once_and_says_what_to_do() -> None:
    cmd = command(tenant="globex")
    first = module_unavailable(cmd, first=True, detail="INVALID_MODULE")
    later = module_unavailable(cmd, first=False, detail="noted earlier")
    assert [t for t, _ in first] == [Topics.ZOHO_OUTCOMES, Topics.DEAD_LETTERS]
    assert [t for t, _ in later] == [Topics.ZOHO_OUTCOMES]
    message = first[1][1].error_message or ""
    for part in ("globex", "Accounts", "edition", "mlc replay"):
        assert part in message


def test_trigger_is_empty_by_default_so_replays_fire_no_workflows() -> None:
    assert command().trigger == []


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


def test_a_forced_command_is_written_even_when_the_store_says_zoho_has_it() -> None:
    same = command(key="B", version="5")
    forced = same.model_copy(update={"force": True})
    older_forced = command(key="C", version="3").model_copy(update={"force": True})
    applied = {
        ("Accounts", "B"): Applied("5", "z", content_hash(same)),
        ("Accounts", "C"): Applied("4", "z", content_hash(command(key="C", version="4"))),
    }
    assert triage([same], applied).stale == [same]
    assert triage([forced], applied).write == [forced]  # reconcile --fix after a hand edit
    assert triage([older_forced], applied).stale == [older_forced]  # never an older version
