"""Value checks of raw Sage records in the poller: over-long text, invalid dates and text that
is not UTF-8 each become one dead letter naming tenant, entity, key, field and reason, while
every other record of the page passes."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mlc_core.contracts import DeadLetter, Entity, SageRecordChanged, Topics
from sage_poller.service import PollContext, plan_page
from sage_poller.validation import MAX_TEXT_LENGTH, TEXT_LENGTHS, InvalidRecord, check_values

from tests.factories import sage_customer

POLL = PollContext("acme", Entity.AR_CUSTOMER, "ABC", ZoneInfo("America/Chicago"))

BAD = [
    ({"CustomerName": "N" * 51}, "CustomerName", "51 characters; Sage holds at most 50"),
    ({"Comment": "x" * (MAX_TEXT_LENGTH + 1)}, "Comment", "30"),
    ({"UDF_NOTES": "x" * (MAX_TEXT_LENGTH + 1)}, "UDF_NOTES", f"at most {MAX_TEXT_LENGTH}"),
    ({"DateEstablished": "20260230"}, "DateEstablished", "expected a YYYYMMDD date"),
    ({"DateLastPayment": 20261126}, "DateLastPayment", "expected a YYYYMMDD date"),
    ({"City": {"$undecodable_hex": "4dfc6e6368656e"}}, "City", "not valid UTF-8"),
    ({"AddressLine1": "M\ufffdnchen"}, "AddressLine1", "not valid UTF-8"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD)
def test_each_bad_value_is_one_letter_and_the_rest_of_the_page_passes(
    change: dict[str, Any], field: str, reason: str
) -> None:
    page = [
        sage_customer(CustomerNo="GOOD1"),
        sage_customer(CustomerNo="BAD", **change),
        sage_customer(CustomerNo="GOOD2"),
    ]
    plan = plan_page(page, known={}, poll=POLL)
    changes = [e for t, e in plan.events if t == Topics.SAGE_CHANGES]
    letters = [e for t, e in plan.events if t == Topics.DEAD_LETTERS]
    assert [c.source_key for c in changes if isinstance(c, SageRecordChanged)] == [
        "01-GOOD1",
        "01-GOOD2",
    ]
    [letter] = letters
    assert isinstance(letter, DeadLetter)
    assert letter.field == field and reason in letter.error_message
    assert letter.error_message.startswith("tenant acme, ar_customer 01-BAD: invalid Sage record")
    assert (letter.entity, letter.source_key) == (Entity.AR_CUSTOMER, "01-BAD")


def test_lengths_are_per_entity_and_key_columns_are_left_to_the_key_checks() -> None:
    check_values({"EmailAddress": "a" * 250}, Entity.AR_CUSTOMER)
    with pytest.raises(InvalidRecord, match="EmailAddress: 51 characters"):
        check_values({"EmailAddress": "a" * 51}, Entity.CUSTOMER_CONTACT)
    for lengths in TEXT_LENGTHS.values():
        assert not {"ARDivisionNo", "CustomerNo", "VendorNo", "SalesOrderNo"} & set(lengths)


def test_detail_lines_are_checked_and_named_by_position() -> None:
    lines = [{"ItemCode": "A"}, {"ItemCode": "B", "CommentText": {"$undecodable_hex": "ff"}}]
    with pytest.raises(InvalidRecord) as info:
        check_values({"Lines": lines}, Entity.SALES_ORDER)
    assert info.value.field == "Lines[1].CommentText" and "UTF-8" in str(info.value)


def test_good_values_pass() -> None:
    check_values(sage_customer(CustomerName="N" * 50, DateEstablished=""), Entity.AR_CUSTOMER)
    check_values({"ContactNotes": "line one\nline two\ttab"}, Entity.CUSTOMER_CONTACT)


def test_a_lone_surrogate_is_refused_because_no_event_could_carry_it() -> None:
    with pytest.raises(InvalidRecord, match="City: text is not valid UTF-8 \\(lone surrogate\\)"):
        check_values({"City": "Mil\udc80"}, Entity.AR_CUSTOMER)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_json_cannot_carry_are_refused(value: float) -> None:
    with pytest.raises(InvalidRecord, match="CreditLimit: not a finite number"):
        check_values({"CreditLimit": value}, Entity.AR_CUSTOMER)
