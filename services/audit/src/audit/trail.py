"""Pure: stored audit rows of one record become a readable trail, oldest first.

A trail names each step the way an operator thinks of it (a poll saw a change, a command was
issued, Zoho answered, the write failed, a later one recovered, an operator replayed), and
marks every step that belongs to a replay: the replayed event carries a `replay` marker, and
whatever it caused (command, outcome) is linked to it by `causation_id`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TrailEntry:
    at: datetime | None
    kind: str
    event_type: str
    event_id: uuid.UUID
    causation_id: uuid.UUID | None
    source_version: str | None
    summary: str
    replay: bool
    topic: str
    partition: int
    offset: int
    trace_id: str | None = None  # the W3C trace the event was delivered in (None before 0013)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat() if self.at else None,
            "kind": self.kind,
            "event_type": self.event_type,
            "event_id": str(self.event_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "source_version": self.source_version,
            "summary": self.summary,
            "replay": self.replay,
            "kafka": f"{self.topic}/{self.partition}@{self.offset}",
            "trace_id": self.trace_id,
        }


def build_trail(rows: Sequence[Mapping[str, Any]]) -> list[TrailEntry]:
    """`rows` are audit_events rows of one record, oldest first."""
    replayed: set[uuid.UUID] = set()
    failing = False
    entries = []
    for row in rows:
        payload = row["payload"]
        is_replay = payload.get("replay") is not None or row["causation_id"] in replayed
        if is_replay:
            replayed.add(row["event_id"])
        kind, summary = describe(row["event_type"], payload, failing=failing)
        if payload.get("replay"):
            marker = payload["replay"]
            kind, summary = (
                "replay",
                (
                    f"re-published ({marker.get('reason')}) from event {marker.get('of_event_id')}:"
                    f" {summary}"
                ),
            )
        if kind in ("write failed", "failed"):
            failing = True
        elif kind in ("written", "recovered"):
            failing = False
        entries.append(_entry(row, kind, summary, is_replay))
    return entries


def _entry(row: Mapping[str, Any], kind: str, summary: str, replay: bool) -> TrailEntry:
    payload = row["payload"]
    version = payload.get("source_version") or payload.get("last_version")
    return TrailEntry(
        at=row["occurred_at"] or row["recorded_at"],
        kind=kind,
        event_type=row["event_type"],
        event_id=row["event_id"],
        causation_id=row["causation_id"],
        source_version=version,
        summary=summary,
        replay=replay,
        topic=row["topic"],
        partition=row["kafka_partition"],
        offset=row["kafka_offset"],
        trace_id=row.get("trace_id"),
    )


def describe(event_type: str, payload: Mapping[str, Any], *, failing: bool) -> tuple[str, str]:
    """(kind, one-line summary) of one event."""
    if event_type == "sage.record.changed":
        return _describe_change(payload)
    if event_type == "sage.record.deleted":
        return "deleted", f"no longer in Sage ({payload.get('reason', 'deleted')})"
    if event_type == "zoho.upsert.requested":
        trigger = payload.get("trigger")
        return "command", (
            f"upsert {payload.get('module')} on {payload.get('external_field')}="
            f"{payload.get('external_value')}, trigger={'default' if trigger is None else trigger}"
            f"{', forced (Zoho changed by hand)' if payload.get('force') else ''}"
            + (
                f", moved from {payload['renumbered_from']}"
                if payload.get("renumbered_from")
                else ""
            )
            + _warnings(payload)
        )
    if event_type == "zoho.delete.requested":
        return "command", f"delete {payload.get('module')} {payload.get('external_value')}"
    if event_type == "zoho.write.outcome":
        return _describe_outcome(payload, failing=failing)
    if event_type == "mlc.dead_letter":
        return "failed", (
            f"dead letter from {payload.get('stage')}: {payload.get('error_class')}"
            f"{' on ' + str(payload['field']) if payload.get('field') else ''}"
            f" - {payload.get('error_message')}"
        )
    return "event", event_type


def _warnings(payload: Mapping[str, Any]) -> str:
    warnings = payload.get("warnings") or []
    return "".join(f"; warning: {w}" for w in warnings)


def _describe_change(payload: Mapping[str, Any]) -> tuple[str, str]:
    moved = payload.get("renumbered_from")
    if moved:
        return "poll", f"Sage renumbered the record from {moved}"
    return "poll", f"poll saw the record {payload.get('change') or 'changed'}"


def _describe_outcome(payload: Mapping[str, Any], *, failing: bool) -> tuple[str, str]:
    status = payload.get("status")
    if status == "succeeded":
        ridden_out = payload.get("recovered_from")
        kind = "recovered" if failing or ridden_out else "written"
        summary = f"Zoho {payload.get('action')} ok, id {payload.get('zoho_id')}"
        if payload.get("warnings") and not payload.get("zoho_id"):
            summary = f"Zoho {payload.get('module')} {payload.get('external_value')} not written"
        summary += f", after {ridden_out}" if ridden_out else ""
        return kind, summary + _warnings(payload)
    if status in ("skipped_stale", "skipped_unchanged"):
        return "skipped", f"no Zoho call ({status}): {payload.get('error_message') or ''}".strip()
    if status == "deferred":
        return "deferred", f"not written yet: {payload.get('error_message') or ''}".strip()
    retry = "retryable" if payload.get("retryable") else "permanent"
    return (
        "write failed",
        f"Zoho {payload.get('error_code')} ({retry}): {payload.get('error_message')}",
    )
