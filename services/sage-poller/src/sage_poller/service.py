"""Pure polling logic: stamps, keys, dedupe and the events a page of Sage records produces.

Sage stamps are `DateUpdated` (YYYYMMDD) plus `TimeUpdated`, a string of decimal hours since
midnight in the Sage server's local time. Many rows share one stamp (imports, batch updates), so
polls are inclusive (>=) with an overlap window, and a record is emitted only when its content
changed since the version we last put on Kafka.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from mlc_core.contracts import (
    DeadLetter,
    Entity,
    SageRecordChanged,
    SageRecordDeleted,
    Topics,
)
from mlc_core.entities.sage import STAMP_COLUMNS, record_digest
from mlc_core.unsendable import encodable, safe_text

from sage_poller.validation import (
    InvalidRecord,
    check_values,
    customer_key,
    shown_key,
    source_key,
    valid_date,
)

__all__ = ["STAMP_COLUMNS", "InvalidRecord", "customer_key", "record_digest"]
EVENT_NAMESPACE = uuid.UUID("6f1c2a52-3d0e-4f7e-9a51-1d7b7e3c9a10")


@dataclass(frozen=True, order=True)
class Stamp:
    date: str
    hours: float

    @property
    def version(self) -> str:
        """Sortable text form, e.g. '20261126 14.502780'."""
        return f"{self.date} {self.hours:09.6f}"

    def to_datetime(self) -> datetime:
        # Slicing, not strptime: this runs for every record of a poll (DateUpdated is checked).
        day = datetime(int(self.date[:4]), int(self.date[4:6]), int(self.date[6:8]))
        return day + timedelta(hours=self.hours)

    @classmethod
    def from_datetime(cls, moment: datetime) -> Stamp:
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(moment.strftime("%Y%m%d"), (moment - midnight).total_seconds() / 3600)

    def minus(self, seconds: float) -> Stamp:
        return Stamp.from_datetime(self.to_datetime() - timedelta(seconds=seconds))


def parse_stamp(record: dict[str, Any]) -> Stamp:
    date, hours = record.get("DateUpdated"), record.get("TimeUpdated")
    if not valid_date(date):
        raise InvalidRecord("DateUpdated", f"expected YYYYMMDD, got {date!r}")
    try:
        value = float(str(hours).strip())
    except ValueError as exc:
        raise InvalidRecord("TimeUpdated", f"expected decimal hours, got {hours!r}") from exc
    if not 0 <= value < 24:
        raise InvalidRecord("TimeUpdated", f"decimal hours out of range: {hours!r}")
    return Stamp(date, value)


def _key_function(entity: Entity) -> Callable[[dict[str, Any]], str]:
    return lambda record: source_key(record, entity)


# The source_key of a raw record, per entity; raises InvalidRecord naming the bad key column.
KEY_FUNCTIONS: dict[Entity, Callable[[dict[str, Any]], str]] = {
    entity: _key_function(entity) for entity in Entity
}


def candidate_keys(records: list[dict[str, Any]], entity: Entity) -> list[str]:
    keys = []
    for record in records:
        try:
            keys.append(source_key(record, entity))
        except InvalidRecord:
            continue
    return keys


def since_for(watermark: Stamp, overlap_seconds: float, zone: ZoneInfo, now: datetime) -> Stamp:
    """Where the next poll starts: the watermark minus the overlap, in Sage's wall-clock time.

    Stamps are local wall-clock times. After a DST fall-back, records written later carry
    earlier-looking stamps (the hour repeats), so when the zone's UTC offset has dropped since
    the watermark, the start moves back by that drop too.
    """
    start = watermark.to_datetime() - timedelta(seconds=overlap_seconds)
    then = start.replace(tzinfo=zone, fold=0).utcoffset() or timedelta(0)
    current = now.astimezone(zone).utcoffset() or timedelta(0)
    drop = max(timedelta(0), then - current)
    return Stamp.from_datetime(start - drop)


def change_kind(record: dict[str, Any]) -> Literal["created", "updated"]:
    """A new record carries the same created and updated stamps."""
    created = (record.get("DateCreated"), str(record.get("TimeCreated", "")).strip())
    updated = (record.get("DateUpdated"), str(record.get("TimeUpdated", "")).strip())
    return "created" if created == updated else "updated"


@dataclass(frozen=True)
class Known:
    version: str
    digest: bytes


@dataclass
class PagePlan:
    """What one page of the change feed turns into."""

    events: list[tuple[str, SageRecordChanged | DeadLetter]] = field(default_factory=list)
    versions: dict[str, Known] = field(default_factory=dict)
    unchanged: int = 0
    newest: Stamp | None = None


@dataclass(frozen=True)
class PollContext:
    tenant_id: str
    entity: Entity
    company_code: str
    time_zone: ZoneInfo
    # Set for an `mlc sync --full/--key` request: every record is emitted whatever its hash,
    # under event ids of its own (the request id is part of the name), so the audit log shows
    # the re-sync, and a crash mid-request still re-emits the same ids.
    resync: int | None = None


def plan_page(
    records: list[dict[str, Any]], *, known: dict[str, Known], poll: PollContext
) -> PagePlan:
    plan = PagePlan()
    for record in records:
        _plan_record(plan, record, known=known, poll=poll)
    return plan


def _plan_record(
    plan: PagePlan, record: dict[str, Any], *, known: dict[str, Known], poll: PollContext
) -> None:
    try:
        key = source_key(record, poll.entity)
        stamp = parse_stamp(record)
        check_values(record, poll.entity)
    except InvalidRecord as exc:
        plan.events.append((Topics.DEAD_LETTERS, invalid_record_letter(record, exc, poll)))
        return
    plan.newest = max(plan.newest or stamp, stamp)
    digest = record_digest(record)
    seen = None if poll.resync is not None else plan.versions.get(key) or known.get(key)
    if seen is not None and (seen.digest == digest or seen.version > stamp.version):
        plan.unchanged += 1
        return
    plan.versions[key] = Known(stamp.version, digest)
    plan.events.append((Topics.SAGE_CHANGES, change_event(record, key, stamp, digest, poll)))


def change_event(
    record: dict[str, Any], key: str, stamp: Stamp, digest: bytes, poll: PollContext
) -> SageRecordChanged:
    # Deterministic id: re-emitting the same version after a crash yields the same event, which
    # the audit log (idempotent on event id) stores once.
    name = f"{poll.tenant_id}|{poll.entity}|{key}|{stamp.version}|{digest.hex()}"
    if poll.resync is not None:
        name += f"|resync:{poll.resync}"
    event_id = uuid.uuid5(EVENT_NAMESPACE, name)
    return SageRecordChanged(
        event_id=event_id,
        tenant_id=poll.tenant_id,
        occurred_at=stamp.to_datetime().replace(tzinfo=poll.time_zone),
        correlation_id=event_id,
        entity=poll.entity,
        source_key=key,
        company_code=poll.company_code,
        source_version=stamp.version,
        record=record,
        change=change_kind(record),
    )


def invalid_record_letter(
    record: dict[str, Any], error: InvalidRecord, poll: PollContext
) -> DeadLetter:
    # The letter must encode even when the record cannot (a lone surrogate): its texts are
    # carried replaced, with their exact code units beside them (mlc_core.unsendable).
    shown = safe_text(shown_key(record, poll.entity))
    event_id = uuid.uuid5(
        EVENT_NAMESPACE, f"invalid|{poll.tenant_id}|{record_digest(record).hex()}"
    )
    return DeadLetter(
        event_id=event_id,
        tenant_id=poll.tenant_id,
        correlation_id=event_id,
        entity=poll.entity,
        source_key=shown,
        stage="sage-poller",
        error_class="InvalidRecord",
        error_message=(
            f"tenant {poll.tenant_id}, {poll.entity} {shown}: invalid Sage record, {error}"
        ),
        field=error.field,
        original_topic="sage:" + poll.company_code,
        original=encodable(record)[0],
    )


def delete_event(key: str, known: Known | None, poll: PollContext) -> SageRecordDeleted:
    # Deterministic per (key, last version): a crash before the store commit re-emits the same id.
    last = known.version if known else None
    event_id = uuid.uuid5(EVENT_NAMESPACE, f"deleted|{poll.tenant_id}|{poll.entity}|{key}|{last}")
    return SageRecordDeleted(
        event_id=event_id,
        tenant_id=poll.tenant_id,
        occurred_at=datetime.now(UTC),
        correlation_id=event_id,
        entity=poll.entity,
        source_key=key,
        company_code=poll.company_code,
        last_version=last,
    )
