"""Edits stamped before the last version seen (Sage's clock went back) are never dropped."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from mlc_core.contracts import Entity, SageRecordChanged
from mlc_core.entities.sage import SAGE_TABLES, record_digest
from sage_poller.renumber import find_moves
from sage_poller.service import (
    Known,
    PollContext,
    before_window,
    history_start,
    next_version,
    plan_page,
)

POLL = PollContext("t1", Entity.AR_CUSTOMER, "ABC", ZoneInfo("UTC"))


def customer(name: str, time: str) -> dict[str, str]:
    return {
        "ARDivisionNo": "01",
        "CustomerNo": "ABF",
        "CustomerName": name,
        "DateUpdated": "20261126",
        "TimeUpdated": time,
        "DateCreated": "20261101",
        "TimeCreated": "9.00000",
    }


def test_new_content_with_an_older_stamp_goes_out_sorted_after_the_last_version() -> None:
    before = customer("Old", "14.50000")
    known = {"01-ABF": Known("20261126 14.500000", record_digest(before))}
    edited = customer("New", "13.60000")  # an hour after the clock went back
    plan = plan_page([edited], known=known, poll=POLL)
    (_, event) = plan.events[0]
    assert isinstance(event, SageRecordChanged)
    assert event.source_version == "20261126 14.500000+20261126 13.600000"
    assert event.source_version > "20261126 14.500000"
    assert plan.versions["01-ABF"].version == event.source_version


def test_the_same_content_with_an_older_stamp_is_still_unchanged() -> None:
    before = customer("Same", "14.50000")
    known = {"01-ABF": Known("20261126 14.500000", record_digest(before))}
    plan = plan_page([customer("Same", "13.60000")], known=known, poll=POLL)
    assert plan.events == [] and plan.unchanged == 1


def test_versions_stay_in_order_while_the_clock_catches_up() -> None:
    first = next_version("20261126 14.500000", "20261126 13.600000")
    second = next_version(first, "20261126 13.700000")
    caught_up = next_version(second, "20261126 14.600000")
    assert "20261126 14.500000" < first < second < caught_up == "20261126 14.600000"
    assert next_version("20261126 14.500000", "20261126 14.500000") > "20261126 14.500000"
    assert second + "~deleted" > second  # the mapper's delete version still sorts last


def test_history_window_starts_on_the_first_of_the_month_n_months_back() -> None:
    assert history_start(12, date(2026, 12, 4)) == "20251201"
    assert history_start(3, date(2026, 2, 28)) == "20251101"
    assert history_start(0, date(2026, 2, 28)) is None


def test_old_paid_history_is_known_but_not_sent_while_old_open_and_recent_history_is() -> None:
    poll = PollContext("t1", Entity.AR_INVOICE, "ABC", ZoneInfo("UTC"), history_from="20251201")

    def invoice(number: str, date_: str, balance: float | None) -> dict[str, object]:
        row = {"InvoiceNo": number, "HeaderSeqNo": "000000", "InvoiceDate": date_}
        row |= {"DateUpdated": "20261126", "TimeUpdated": "9.5", "TaxableSalesAmt": 10.0}
        return row if balance is None else row | {"Balance": balance}

    rows = [
        invoice("0000001", "20240105", None),  # old, paid (history carries no balance)
        invoice("0000002", "20240105", 12.5),  # old, still open
        invoice("0000003", "20251201", None),  # first day of the window
    ]
    plan = plan_page(rows, known={}, poll=poll)
    sent = [e.source_key for _, e in plan.events if isinstance(e, SageRecordChanged)]
    assert sent == ["0000002:000000", "0000003:000000"]
    assert plan.outside_window == 1 and "0000001:000000" in plan.versions
    assert before_window({"InvoiceDate": "20240105", "Balance": "0.00"}, "20251201")


def test_a_new_record_pairs_with_the_one_gone_key_it_equals_and_never_when_ambiguous() -> None:
    def contact(customer: str, code: str, name: str) -> dict[str, str]:
        row = {"ARDivisionNo": "01", "CustomerNo": customer, "ContactCode": code}
        return row | {"ContactName": name, "DateUpdated": "20261126", "TimeUpdated": "9.5"}

    poll = PollContext("t1", Entity.CUSTOMER_CONTACT, "ABC", ZoneInfo("UTC"))
    before = {
        "01-OLD:AB": contact("OLD", "AB", "Ann Bell"),
        "01-OLD:CD": contact("OLD", "CD", "Carl Dunn"),
        "01-X:SAME": contact("X", "SAME", "Twin"),
        "01-Y:SAME": contact("Y", "SAME", "Twin"),
    }
    gone = {k: Known("20261126 09.500000", record_digest(r)) for k, r in before.items()}
    renumbered = contact("NEW", "AB", "Ann Bell") | {"TimeUpdated": "10.25"}  # stamped: fine
    edited = contact("NEW", "CD", "Carl Dunn Jr")  # moved and changed: not provably the same
    twin = contact("Z", "SAME", "Twin")  # equals two gone records: ambiguous
    new = [("01-NEW:AB", renumbered), ("01-NEW:CD", edited), ("01-Z:SAME", twin)]
    assert find_moves(new, gone, poll) == {"01-NEW:AB": "01-OLD:AB"}
    spec = SAGE_TABLES[Entity.CUSTOMER_CONTACT]
    assert spec.identity_digest(renumbered) == spec.identity_digest(before["01-OLD:AB"])
