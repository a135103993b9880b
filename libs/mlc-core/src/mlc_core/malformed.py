"""Messages that are not valid events: turned into dead letters, never dropped."""

from __future__ import annotations

import base64
import uuid

from pydantic import ValidationError

from mlc_core.contracts import DeadLetter
from mlc_core.kafka import Record

MALFORMED_NAMESPACE = uuid.UUID("a4e1f7a0-7c55-4d0e-9b0e-3e4b1f9f6c11")


def malformed_letter(
    record: Record, error: ValidationError | ValueError, *, stage: str
) -> DeadLetter:
    key = (record.key or b"").decode(errors="replace")
    tenant = key.split("|", 1)[0] or "_unknown"
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    event_id = uuid.uuid5(MALFORMED_NAMESPACE, f"{stage}:{where}")
    return DeadLetter(
        event_id=event_id,
        tenant_id=tenant[:64],
        correlation_id=event_id,
        stage=stage,
        error_class=type(error).__name__,
        error_message=f"tenant {tenant}: malformed message at {where} (key {key!r}): {error}"[
            :2000
        ],
        original_topic=record.topic,
        original={"value_b64": base64.b64encode(record.value or b"").decode(), "key": key},
    )
