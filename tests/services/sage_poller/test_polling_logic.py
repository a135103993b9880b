"""Pure poller logic: DST-safe start, created vs updated, record checks, schedule, retries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from mlc_core.contracts import Entity, Envelope, SagePollAttempt
from mlc_core.kafka import Backoff, Publisher
from mlc_core.sage.errors import SageAuthError, SageRecordLocked
from mlc_core.waits import WaitClock
from sage_poller.retry import PollGaveUp, Retrier
from sage_poller.schedule import DEFAULT_INTERVALS, Schedule, SchedulePolicy
from sage_poller.service import KEY_FUNCTIONS, Stamp, change_kind, since_for
from sage_poller.validation import InvalidRecord, check_values, valid_source_key

from tests.factories import ManualClock

CHICAGO = ZoneInfo("America/Chicago")


def test_since_is_watermark_minus_overlap_on_ordinary_days() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert since_for(Stamp("20260601", 6.5), 120, CHICAGO, now) == Stamp("20260601", 6.5).minus(120)


def test_since_moves_back_an_hour_after_fall_back() -> None:
    # Watermark 01:40 CDT on the fall-back night; later writes are stamped 01:00-01:59 CST.
    after = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 02:00 CST
    since = since_for(Stamp("20261101", 1 + 40 / 60), 120, CHICAGO, after)
    assert since.date == "20261101" and since.hours == pytest.approx(38 / 60)


def test_spring_forward_needs_no_extra_overlap() -> None:
    after = datetime(2026, 3, 8, 12, tzinfo=UTC)
    watermark = Stamp("20260308", 1.5)
    assert since_for(watermark, 60, CHICAGO, after) == watermark.minus(60)


def test_created_when_created_stamp_equals_updated_stamp() -> None:
    row = {"DateCreated": "20261126", "TimeCreated": "9.5", "DateUpdated": "20261126"}
    assert change_kind(row | {"TimeUpdated": "9.5"}) == "created"
    assert change_kind(row | {"TimeUpdated": "10.25"}) == "updated"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"CustomerName": {"$undecodable_hex": "e9"}}, "CustomerName"),
        ({"DateEstablished": "20260230"}, "DateEstablished"),
        ({"InvoiceDueDate": "2026-01-01"}, "InvoiceDueDate"),
        ({"Lines": [{"PromiseDate": "99999999"}]}, "Lines[0].PromiseDate"),
    ],
)
def test_value_checks_name_the_field(record: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        check_values(record)
    assert info.value.field == field


def test_blank_and_valid_dates_pass() -> None:
    check_values({"DateEstablished": "", "DateLastActivity": "20240229", "Lines": []})


def test_every_entity_has_a_checked_key_function() -> None:
    assert set(KEY_FUNCTIONS) == set(Entity)
    contact = {"ARDivisionNo": "01", "CustomerNo": "ABF", "ContactCode": "A:B"}
    with pytest.raises(InvalidRecord, match="ContactCode"):
        KEY_FUNCTIONS[Entity.CUSTOMER_CONTACT](contact)
    assert KEY_FUNCTIONS[Entity.SALES_ORDER]({"SalesOrderNo": "0000123"}) == "0000123"
    with pytest.raises(InvalidRecord, match="SalesOrderNo"):
        KEY_FUNCTIONS[Entity.SALES_ORDER]({"SalesOrderNo": "12345678"})
    assert valid_source_key("01-ABF", Entity.AR_CUSTOMER)
    assert not valid_source_key("01-bad key", Entity.AR_CUSTOMER)


def test_schedule_defaults_overrides_and_due() -> None:
    policy = SchedulePolicy(overrides={"ap_vendor": 1800.0}, reconcile_every=3600)
    assert policy.interval(Entity.GL_ACCOUNT) == DEFAULT_INTERVALS[Entity.GL_ACCOUNT] == 86400
    assert policy.interval(Entity.AP_VENDOR) == 1800
    assert SchedulePolicy(every=2.0).interval(Entity.GL_ACCOUNT) == 2.0
    schedule = Schedule(policy)
    entities = [Entity.AR_CUSTOMER, Entity.GL_ACCOUNT]
    assert schedule.due_polls(entities, 0.0) == entities
    schedule.polled(Entity.AR_CUSTOMER, started=0.0)
    schedule.polled(Entity.GL_ACCOUNT, started=0.0)
    schedule.reconciled(Entity.AR_CUSTOMER, 0.0)
    schedule.reconciled(Entity.GL_ACCOUNT, 0.0)
    assert schedule.due_polls(entities, 901.0) == [Entity.AR_CUSTOMER]
    assert schedule.sleep_for(entities, 100.0, cap=30.0) == 30.0
    assert schedule.sleep_for(entities, 890.0, cap=30.0) == pytest.approx(10.0)


def test_a_tenants_own_cadence_comes_first_and_applies_at_once() -> None:
    schedule = Schedule(SchedulePolicy(overrides={"ap_vendor": 1800.0}))
    vendors = [Entity.AP_VENDOR]
    schedule.polled(Entity.AP_VENDOR, started=0.0)
    assert schedule.due_polls(vendors, 1000.0) == []
    schedule.use_cadences({Entity.AP_VENDOR: 300.0})  # `mlc sage set --cadence ap_vendor=300`
    assert schedule.due_polls(vendors, 1000.0) == vendors  # changed: due now, not at 1800
    schedule.polled(Entity.AP_VENDOR, started=1000.0)
    assert schedule.due_polls(vendors, 1299.0) == [] and schedule.due_polls(vendors, 1300.0)
    schedule.use_cadences({Entity.AP_VENDOR: 300.0})  # unchanged: the next poll stays put
    assert schedule.due_polls(vendors, 1299.0) == []
    schedule.use_cadences({})  # removed: back to the deployment's 1800
    schedule.polled(Entity.AP_VENDOR, started=2000.0)
    assert schedule.due_polls(vendors, 3799.0) == [] and schedule.due_polls(vendors, 3800.0)


def test_a_poll_start_says_how_late_it_is_and_its_timing_how_long_it_took() -> None:
    schedule = Schedule(SchedulePolicy(every=120.0))
    at = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    first = schedule.start(Entity.AR_CUSTOMER, 10.0, at)
    assert first.late_seconds is None  # never scheduled: nothing to be late for
    schedule.polled(Entity.AR_CUSTOMER, started=first.monotonic)  # next due at 130
    assert schedule.start(Entity.AR_CUSTOMER, 137.5, at).late_seconds == pytest.approx(7.5)
    assert schedule.start(Entity.AR_CUSTOMER, 129.0, at).late_seconds == 0.0  # early: not late
    ticks = ManualClock(131.0)
    start = replace(schedule.start(Entity.AR_CUSTOMER, 131.0, at), on_sage=WaitClock(ticks))
    with start.on_sage.waiting():  # its agent calls
        ticks.now += 1.5
    timing = start.done(133.25)
    assert (timing.started_at, timing.seconds, timing.late_seconds) == (at, 2.25, 1.0)
    assert timing.sage_seconds == 1.5


class ListPublisher(Publisher):
    def __init__(self) -> None:
        self.sent: list[tuple[str, Envelope]] = []

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        self.sent.extend(items)


def outcomes(publisher: ListPublisher) -> list[str]:
    return [e.outcome for _, e in publisher.sent if isinstance(e, SagePollAttempt)]


async def test_retrier_audits_failures_and_recovery() -> None:
    publisher, calls = ListPublisher(), []

    ticks = ManualClock(0.0)

    async def flaky() -> str:
        calls.append(1)
        ticks.now += 0.25  # the agent's answer
        if len(calls) < 3:
            raise SageRecordLocked("agent: record/file busy")
        return "ok"

    retrier = Retrier(
        "acme", Entity.AR_CUSTOMER, publisher, 5, Backoff(0.001, 0.002), WaitClock(ticks)
    )
    assert await retrier.call("changes", flaky) == "ok"
    assert retrier.on_sage.spent() == 0.75  # every attempt is time on Sage
    assert outcomes(publisher) == ["failed", "failed", "recovered"]
    first = publisher.sent[0][1]
    assert isinstance(first, SagePollAttempt) and first.error_class == "SageRecordLocked"


async def test_retrier_gives_up_at_the_limit_and_never_retries_permanent_errors() -> None:
    publisher = ListPublisher()

    async def locked() -> None:
        raise SageRecordLocked("busy")

    retrier = Retrier("acme", Entity.GL_ACCOUNT, publisher, 2, Backoff(0.001, 0.002))
    with pytest.raises(PollGaveUp):
        await retrier.call("keys", locked)
    assert outcomes(publisher) == ["failed", "gave_up"]

    async def refused() -> None:
        raise SageAuthError("token refused")

    with pytest.raises(SageAuthError):
        await retrier.call("keys", refused)
    assert len(publisher.sent) == 2  # a permanent error is not retried
