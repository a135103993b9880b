"""Thin handler: decode a batch of raw events, map each with its tenant's map, publish, and
only then return (the caller commits offsets after that)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from mlc_core.contracts import (
    DeadLetter,
    Envelope,
    SageRecordChanged,
    SageRecordDeleted,
    Topics,
)
from mlc_core.kafka import Publisher, Record
from mlc_core.logging import ctx
from mlc_core.malformed import decode_checked, malformed_letter

from mapper.profile import TenantMap
from mapper.service import Output, map_event

log = logging.getLogger(__name__)
SageEvent = SageRecordChanged | SageRecordDeleted


class MapSource(Protocol):
    async def maps_for(self, tenant_ids: set[str]) -> dict[str, TenantMap]: ...


class SwitchedOff:
    """Says once per tenant and entity (per process) that an entity is switched off, instead
    of one message per record."""

    def __init__(self) -> None:
        self._told: set[tuple[str, str]] = set()

    def note(self, event: SageEvent) -> None:
        if (event.tenant_id, event.entity) in self._told:
            return
        self._told.add((event.tenant_id, event.entity))
        log.warning(
            "entity switched off in the tenant's mapping file; its records are not synced",
            extra=ctx(tenant=event.tenant_id, entity=event.entity),
        )


def _decode(record: Record) -> SageEvent | Output | None:
    try:
        event = decode_checked(record.value or b"")
    except ValueError as exc:  # broken or hostile (malformed.py): a dead letter
        letter = malformed_letter(record, exc, stage="mapper")
        log.error(letter.error_message)
        return Topics.DEAD_LETTERS, letter
    if isinstance(event, SageRecordChanged | SageRecordDeleted):
        return event
    return None  # not ours: replays may put other event types here; audit keeps them


def _log_failures(event: SageEvent, produced: list[Output]) -> None:
    for _, message in produced:
        if isinstance(message, DeadLetter):
            log.error(
                message.error_message,
                extra=ctx(tenant=event.tenant_id, entity=event.entity, key=event.source_key),
            )


async def handle_batch(
    records: Sequence[Record],
    *,
    publisher: Publisher,
    maps: MapSource,
    switched_off: SwitchedOff | None = None,
) -> None:
    decoded = [d for record in records if (d := _decode(record)) is not None]
    events = [d for d in decoded if not isinstance(d, tuple)]
    tenant_maps = await maps.maps_for({event.tenant_id for event in events})
    outputs: list[tuple[str, Envelope]] = []
    for item in decoded:
        if isinstance(item, tuple):
            outputs.append(item)
            continue
        tenant_map = tenant_maps[item.tenant_id]
        if not tenant_map.enabled(item.entity) and switched_off is not None:
            switched_off.note(item)
        produced = map_event(item, tenant_map)
        _log_failures(item, produced)
        outputs.extend(produced)
    await publisher.publish_all(outputs)
