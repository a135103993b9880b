"""Pure polling logic: stamps, keys, dedupe and the events a page of Sage records produces.

Sage stamps are `DateUpdated` (YYYYMMDD) plus `TimeUpdated`, a string of decimal hours since
midnight in the Sage server's local time. Many rows share one stamp (imports, batch updates), so
polls are inclusive (>=) with an overlap window, and a record is emitted only when its content
changed since the version we last put on Kafka.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mlc_core.contracts import DeadLetter, Entity, SageRecordChanged, Topics

EVENT_NAMESPACE = uuid.UUID("6f1c2a52-3d0e-4f7e-9a51-1d7b7e3c9a10")
# Stamp columns change on every touch; leaving them out of the content hash means a re-touch
# without a real change costs no Kafka event and no Zoho call.
STAMP_COLUMNS = frozenset({"DateUpdated", "TimeUpdated", "UserUpdatedKey"})
_DIVISION = re.compile(r"^\d{2}$")
_CUSTOMER_NO = re.compile(r"^[A-Z0-9][A-Z0-9\-_.&/]{0,19}$")


class InvalidRecord(ValueError):
    """A Sage record the poller cannot key or stamp."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True, order=True)
class Stamp:
    date: str
    hours: float

    @property
    def version(self) -> str:
        """Sortable text form, e.g. '20261126 14.502780'."""
        return f"{self.date} {self.hours:09.6f}"

    def to_datetime(self) -> datetime:
        base = datetime.strptime(self.date, "%Y%m%d")
        return base + timedelta(hours=self.hours)

    @classmethod
    def from_datetime(cls, moment: datetime) -> Stamp:
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(moment.strftime("%Y%m%d"), (moment - midnight).total_seconds() / 3600)

    def minus(self, seconds: float) -> Stamp:
        return Stamp.from_datetime(self.to_datetime() - timedelta(seconds=seconds))


def parse_stamp(record: dict[str, Any]) -> Stamp:
    date, hours = record.get("DateUpdated"), record.get("TimeUpdated")
    if not isinstance(date, str) or not re.fullmatch(r"\d{8}", date):
        raise InvalidRecord("DateUpdated", f"expected YYYYMMDD, got {date!r}")
    try:
        datetime.strptime(date, "%Y%m%d")
        value = float(str(hours).strip())
    except ValueError as exc:
        raise InvalidRecord("TimeUpdated", f"expected decimal hours, got {hours!r}") from exc
    if not 0 <= value < 24:
        raise InvalidRecord("TimeUpdated", f"decimal hours out of range: {hours!r}")
    return Stamp(date, value)


def customer_key(record: dict[str, Any]) -> str:
    """'01-ABF': division, dash, customer number (the form integrators display)."""
    division, number = record.get("ARDivisionNo"), record.get("CustomerNo")
    if not isinstance(division, str) or not _DIVISION.fullmatch(division):
        raise InvalidRecord("ARDivisionNo", f"expected two digits, got {division!r}")
    if not isinstance(number, str) or not _CUSTOMER_NO.fullmatch(number):
        raise InvalidRecord("CustomerNo", f"expected 1-20 upper-case characters, got {number!r}")
    return f"{division}-{number}"


KEY_FUNCTIONS = {Entity.AR_CUSTOMER: customer_key}


def candidate_keys(records: list[dict[str, Any]], entity: Entity) -> list[str]:
    keys = []
    for record in records:
        try:
            keys.append(KEY_FUNCTIONS[entity](record))
        except InvalidRecord:
            continue
    return keys


def content_hash(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k not in STAMP_COLUMNS}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()


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
        stamp = parse_stamp(record)
        key = KEY_FUNCTIONS[poll.entity](record)
    except InvalidRecord as exc:
        plan.events.append((Topics.DEAD_LETTERS, invalid_record_letter(record, exc, poll)))
        return
    plan.newest = max(plan.newest or stamp, stamp)
    digest = content_hash(record)
    seen = plan.versions.get(key) or known.get(key)
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
    )


def invalid_record_letter(
    record: dict[str, Any], error: InvalidRecord, poll: PollContext
) -> DeadLetter:
    shown = f"{record.get('ARDivisionNo', '?')}-{record.get('CustomerNo', '?')}"[:64]
    event_id = uuid.uuid5(EVENT_NAMESPACE, f"invalid|{poll.tenant_id}|{content_hash(record).hex()}")
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
        original=record,
    )
