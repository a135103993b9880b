"""Thin handler: decode a batch of raw events, map each, publish, and only then return."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mlc_core.contracts import Envelope, SageRecordChanged, decode
from mlc_core.kafka import Publisher, Record
from mlc_core.logging import ctx
from mlc_core.malformed import malformed_letter
from pydantic import ValidationError

from mapper.service import map_event

log = logging.getLogger(__name__)


def _outputs_for(record: Record) -> tuple[str, Envelope] | None:
    try:
        event = decode(record.value or b"")
    except ValidationError as exc:
        letter = malformed_letter(record, exc, stage="mapper")
        log.error(letter.error_message)
        return "mlc.deadletters", letter
    if not isinstance(event, SageRecordChanged):
        return None  # not ours: replays may put other event types here; audit keeps them
    topic, produced = map_event(event)
    if topic != "mlc.zoho.commands":
        log.error(
            getattr(produced, "error_message", "mapping failed"),
            extra=ctx(tenant=event.tenant_id, entity=event.entity, key=event.source_key),
        )
    return topic, produced


async def handle_batch(records: Sequence[Record], *, publisher: Publisher) -> None:
    outputs = [out for record in records if (out := _outputs_for(record)) is not None]
    await publisher.publish_all(outputs)
