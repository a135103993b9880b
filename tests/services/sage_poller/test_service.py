from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from mlc_core.contracts import DeadLetter, Entity, SageRecordChanged, Topics
from sage_poller.service import (
    InvalidRecord,
    Known,
    PollContext,
    Stamp,
    customer_key,
    parse_stamp,
    plan_page,
    record_digest,
)

from tests.factories import sage_customer

POLL = PollContext("acme", Entity.AR_CUSTOMER, "ABC", ZoneInfo("America/Chicago"))


def test_time_updated_is_decimal_hours_not_text() -> None:
    # As text "9.5" > "10.25"; as hours 9.5 < 10.25.
    early = parse_stamp(sage_customer(TimeUpdated="9.5"))
    late = parse_stamp(sage_customer(TimeUpdated="10.25"))
    assert early < late and early.version < late.version


def test_stamp_to_datetime_and_back() -> None:
    stamp = Stamp("20261126", 14.5)
    assert stamp.to_datetime().strftime("%H:%M") == "14:30"
    assert Stamp.from_datetime(stamp.to_datetime()) == stamp


def test_overlap_crosses_midnight() -> None:
    assert Stamp("20261126", 0.01).minus(120).date == "20261125"


@pytest.mark.parametrize(
    ("field", "value"),
    [("DateUpdated", "2026-11-26"), ("TimeUpdated", "noon"), ("TimeUpdated", "25.0")],
)
def test_bad_stamps_name_the_field(field: str, value: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        parse_stamp(sage_customer(**{field: value}))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [("ARDivisionNo", "1"), ("CustomerNo", ""), ("CustomerNo", "abc"), ("CustomerNo", "X" * 21)],
)
def test_invalid_keys_name_the_field(field: str, value: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        customer_key(sage_customer(**{field: value}))
    assert info.value.field == field


def test_key_is_division_dash_number() -> None:
    assert customer_key(sage_customer(ARDivisionNo="02", CustomerNo="0000123")) == "02-0000123"


def test_stamp_touch_without_change_has_same_hash() -> None:
    assert record_digest(sage_customer(TimeUpdated="1.0")) == record_digest(
        sage_customer(TimeUpdated="2.0")
    )
    assert record_digest(sage_customer()) != record_digest(sage_customer(City="Madison"))


def test_plan_emits_new_and_changed_skips_known() -> None:
    same, changed, new = (sage_customer(CustomerNo=n) for n in ("A1", "A2", "A3"))
    known = {
        "01-A1": Known("20261126 14.502780", record_digest(same)),
        "01-A2": Known(
            "20261126 10.000000", record_digest(sage_customer(CustomerNo="A2", City="X"))
        ),
    }
    plan = plan_page([same, changed, new], known=known, poll=POLL)
    keys = [e.source_key for _, e in plan.events]
    assert keys == ["01-A2", "01-A3"] and plan.unchanged == 1
    assert set(plan.versions) == {"01-A2", "01-A3"}
    assert plan.newest == Stamp("20261126", 14.50278)


def test_event_ids_are_deterministic_per_version() -> None:
    first = plan_page([sage_customer()], known={}, poll=POLL).events[0][1]
    again = plan_page([sage_customer()], known={}, poll=POLL).events[0][1]
    later = plan_page([sage_customer(TimeUpdated="15.0", City="Y")], known={}, poll=POLL)
    assert first.event_id == again.event_id != later.events[0][1].event_id


def test_event_carries_local_time_and_version() -> None:
    topic, event = plan_page([sage_customer()], known={}, poll=POLL).events[0]
    assert topic == Topics.SAGE_CHANGES and isinstance(event, SageRecordChanged)
    assert event.source_version == "20261126 14.502780"
    assert event.occurred_at.utcoffset() is not None
    assert event.correlation_id == event.event_id


def test_invalid_record_becomes_dead_letter_naming_tenant_key_field() -> None:
    plan = plan_page(
        [sage_customer(CustomerNo="bad key"), sage_customer(CustomerNo="OK1")], known={}, poll=POLL
    )
    letters = [e for t, e in plan.events if t == Topics.DEAD_LETTERS]
    assert len(letters) == 1 and isinstance(letters[0], DeadLetter)
    assert letters[0].field == "CustomerNo"
    assert "acme" in letters[0].error_message and "01-bad key" in letters[0].error_message
    assert [e.source_key for t, e in plan.events if t == Topics.SAGE_CHANGES] == ["01-OK1"]


def test_duplicate_in_one_page_emitted_once() -> None:
    row = sage_customer()
    plan = plan_page([row, dict(row)], known={}, poll=POLL)
    assert len(plan.events) == 1 and plan.unchanged == 1
