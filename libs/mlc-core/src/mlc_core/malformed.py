"""Messages that are not valid events: turned into dead letters, never dropped.

Not valid also means well-formed but hostile: JSON that parses into an event whose identity a
consumer cannot use. A NUL in `tenant_id` or `source_key` fails every PostgreSQL statement that
names it, an integer beyond 64 bits every bigint column, an unknown schema version would be
read as if it were ours; handled as events, each would fail its batch again on every retry and
stall the partition. `decode_checked` refuses them the way `decode` refuses broken JSON.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

from pydantic import ValidationError

from mlc_core.contracts import SCHEMA_VERSION, DeadLetter, Event, decode
from mlc_core.kafka import Record
from mlc_core.tenants import TENANT_ID_PATTERN

MALFORMED_NAMESPACE = uuid.UUID("a4e1f7a0-7c55-4d0e-9b0e-3e4b1f9f6c11")
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
_LONG_NUMBER = re.compile(rb"[:,\[]\s*-?\d{19,}")  # a JSON number of 19 or more digits
INT64 = (-(2**63), 2**63 - 1)
UNKNOWN_TENANT = "_unknown"  # not a tenant id (ids start with a letter or digit)


class HostileMessage(ValueError):
    """A message that decodes as an event but that no consumer may process as one."""


def decode_checked(raw: bytes) -> Event:
    """`decode`, refusing hostile events too; raises ValueError (ValidationError or
    HostileMessage) for a message to dead-letter."""
    event = decode(raw)
    problem = hostile(event, raw)
    if problem is not None:
        raise HostileMessage(problem)
    return event


def hostile(event: Event, raw: bytes) -> str | None:
    """What makes a decoded event unusable, or None."""
    if event.schema_version != SCHEMA_VERSION:
        return f"schema version {event.schema_version}; this service reads {SCHEMA_VERSION}"
    if not (_TENANT_ID.fullmatch(event.tenant_id) or _is_unknown_tenant_letter(event)):
        return f"tenant_id {event.tenant_id[:80]!r} is not a tenant id"
    for name, value in event:
        if isinstance(value, str) and "\x00" in value:
            return f"{name} holds a NUL character"
    if _LONG_NUMBER.search(raw) and (path := _beyond_int64(event.model_dump(), "")) is not None:
        return f"{path} is an integer beyond 64 bits"
    return None


def _is_unknown_tenant_letter(event: Event) -> bool:
    return isinstance(event, DeadLetter) and event.tenant_id == UNKNOWN_TENANT


def _beyond_int64(value: Any, path: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return path if not INT64[0] <= value <= INT64[1] else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = ((f"[{i}]", item) for i, item in enumerate(value))
    else:
        return None
    for key, item in items:
        found = _beyond_int64(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def key_tenant(key: bytes | None) -> str | None:
    """The tenant a Kafka key names (`contracts.record_key`: `tenant|entity|source key`), or
    None for a key that names none. A key is the producer's claim: only a decoded event's
    `tenant_id`, checked against it, says whose the record is."""
    tenant = (key or b"").split(b"|", 1)[0].decode(errors="replace")
    return tenant if _TENANT_ID.fullmatch(tenant) else None


def malformed_letter(
    record: Record, error: ValidationError | ValueError, *, stage: str
) -> DeadLetter:
    key = (record.key or b"").decode(errors="replace")
    tenant = key_tenant(record.key) or UNKNOWN_TENANT
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    event_id = uuid.uuid5(MALFORMED_NAMESPACE, f"{stage}:{where}")
    return DeadLetter(
        event_id=event_id,
        tenant_id=tenant,
        correlation_id=event_id,
        stage=stage,
        error_class=type(error).__name__,
        error_message=f"tenant {tenant}: malformed message at {where} (key {key[:200]!r}): {error}"[
            :2000
        ].replace("\x00", "\\x00"),
        original_topic=record.topic,
        original={
            "value_b64": base64.b64encode(record.value or b"").decode(),
            "key": key[:200],
            "key_b64": base64.b64encode(record.key or b"").decode(),
        },
    )
