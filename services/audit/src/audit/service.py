"""Pure: a Kafka record becomes one audit row, whatever it holds (even a malformed message)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlc_core.kafka import Record
from mlc_core.malformed import decode_checked
from mlc_core.telemetry import trace_id_of

UNDECODABLE_NAMESPACE = uuid.UUID("5c3e9d1a-0f6b-4f7a-8c2d-9e1b7a6c4d33")


@dataclass(frozen=True)
class AuditRow:
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    tenant_id: str | None
    entity: str | None
    source_key: str | None
    correlation_id: uuid.UUID | None
    causation_id: uuid.UUID | None
    occurred_at: datetime | None
    topic: str
    partition: int
    offset: int
    payload: dict[str, Any]
    # the delivery's W3C trace (metadata, outside the hash chain); None without a valid header
    trace_id: str | None = None

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.event_id,
            self.event_type,
            self.schema_version,
            self.tenant_id,
            self.entity,
            self.source_key,
            self.correlation_id,
            self.causation_id,
            self.occurred_at,
            self.topic,
            self.partition,
            self.offset,
            self.payload,
            self.trace_id,
        )


def to_row(record: Record) -> AuditRow:
    try:
        event = decode_checked(record.value or b"")
    except ValueError as exc:  # broken or hostile (malformed.py): kept, as undecodable
        return _undecodable(record, exc)
    payload = jsonb_safe(json.loads(event.model_dump_json()), record)
    return AuditRow(
        event_id=event.event_id,
        event_type=event.event_type,
        schema_version=event.schema_version,
        tenant_id=event.tenant_id,
        entity=payload.get("entity"),
        source_key=payload.get("source_key"),
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        occurred_at=event.occurred_at,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        payload=payload,
        trace_id=trace_id_of(record),
    )


def jsonb_safe(payload: dict[str, Any], record: Record) -> dict[str, Any]:
    """PostgreSQL's jsonb cannot hold U+0000, and a Sage text with a NUL in it (the poller
    dead-letters it) must still be stored, or the audit batch fails forever at that offset.
    NULs become U+2400 (the visible NUL symbol) and the exact message is kept beside them."""
    if not _has_nul(payload):
        return payload
    safe: dict[str, Any] = _without_nul(payload)
    safe["_mlc_nul_replaced"] = {"value_b64": base64.b64encode(record.value or b"").decode()}
    return safe


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\u2400")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _undecodable(record: Record, error: ValueError) -> AuditRow:
    # Kept too: the log must show everything that crossed Kafka, including what was broken.
    where = f"{record.topic}:{record.partition}:{record.offset}"
    return AuditRow(
        event_id=uuid.uuid5(UNDECODABLE_NAMESPACE, where),
        event_type="mlc.undecodable",
        schema_version=0,
        tenant_id=None,
        entity=None,
        source_key=None,
        correlation_id=None,
        causation_id=None,
        occurred_at=None,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        payload=_without_nul(
            {
                "error": str(error)[:2000],
                "key": (record.key or b"").decode(errors="replace"),
                "value_b64": base64.b64encode(record.value or b"").decode(),
            }
        ),
        trace_id=trace_id_of(record),
    )
