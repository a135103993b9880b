"""Re-publishing stored events: new ids, causation links to the originals, a replay marker.

Why this converges: a replayed raw event is mapped again into a command for the same record
and source version; the writer skips it without calling Zoho when that version (or a newer one)
is already applied, and otherwise upserts on the external key. Replaying twice, or while live
traffic flows, therefore leaves Zoho in the same state, without duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from mlc_core.contracts import (
    EVENT_ADAPTER,
    Envelope,
    ReplayMarker,
    SageRecordChanged,
    Topics,
    ZohoUpsertCommand,
    utc_now,
)

REPLAY_NAMESPACE = uuid.UUID("9b7e52c4-3f1d-4d8e-a6b1-0c2f8e5d7a93")
RAW, COMMAND = "sage.record.changed", "zoho.upsert.requested"
SOURCES = {"raw": RAW, "commands": COMMAND, "auto": "auto"}
Stored = tuple[uuid.UUID, Mapping[str, Any]]


def original_id(stored_id: uuid.UUID, payload: Mapping[str, Any]) -> uuid.UUID:
    """The first event of a chain of replays (a replay of a replay points to the original)."""
    marker = payload.get("replay")
    return uuid.UUID(str(marker["of_event_id"])) if marker else stored_id


def replayed(
    stored_id: uuid.UUID,
    payload: Mapping[str, Any],
    *,
    replay_id: uuid.UUID,
    reason: str,
    force: bool = False,
) -> tuple[str, Envelope]:
    """The stored event as a new one, ready to publish, with the topic it goes to. `force`
    marks a command to be written even when the writer's store says Zoho has its content (a
    record changed by hand in Zoho); a raw event goes through the mapper, which decides anew."""
    event = EVENT_ADAPTER.validate_python(dict(payload))
    marker = ReplayMarker(
        replay_id=replay_id, of_event_id=original_id(stored_id, payload), reason=reason
    )
    update: dict[str, Any] = {
        # deterministic per run: re-running the publish step of one run adds no new events
        "event_id": uuid.uuid5(REPLAY_NAMESPACE, f"{replay_id}:{stored_id}"),
        "causation_id": stored_id,
        "occurred_at": utc_now(),
        "replay": marker,
    }
    if isinstance(event, SageRecordChanged):
        return Topics.SAGE_CHANGES, event.model_copy(update=update)
    if isinstance(event, ZohoUpsertCommand):
        # Replays must not re-fire Zoho workflows (e-mails, approvals): no triggers at all.
        forced = {"force": True} if force else {}
        return Topics.ZOHO_COMMANDS, event.model_copy(update=update | {"trigger": []} | forced)
    raise ValueError(f"event {stored_id} is a {event.event_type}, which is not replayable")


def replay_batch(
    stored: Iterable[tuple[uuid.UUID, Mapping[str, Any]]],
    *,
    replay_id: uuid.UUID,
    reason: str,
    force: bool = False,
) -> list[tuple[str, Envelope]]:
    return [replayed(i, p, replay_id=replay_id, reason=reason, force=force) for i, p in stored]


def _record(payload: Mapping[str, Any]) -> tuple[str, str]:
    return str(payload.get("entity")), str(payload.get("source_key"))


def pick_auto(raw: Iterable[Stored], commands: Iterable[Stored]) -> list[Stored]:
    """Per record, the stored command when the mapper already made one for the newest stored
    version (a Zoho-side failure: re-sent as is, without workflow triggers), else the raw event
    (never mapped, or mapped from an older version: it goes through the mapper again)."""
    chosen: dict[tuple[str, str], Stored] = {_record(p): (i, p) for i, p in raw}
    for event_id, payload in commands:
        current = chosen.get(_record(payload))
        version = str(payload.get("source_version") or "")
        if current is None or version >= str(current[1].get("source_version") or ""):
            chosen[_record(payload)] = (event_id, payload)
    return [chosen[k] for k in sorted(chosen)]
