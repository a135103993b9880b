from __future__ import annotations

import json
import uuid
from typing import Any

from audit.service import to_row
from audit.trail import build_trail
from mlc_core.contracts import (
    Envelope,
    OutcomeStatus,
    ReplayMarker,
    ZohoWriteOutcome,
    caused_by,
    encode,
)

from tests.factories import FakeRecord, command, raw_event


def stored(event: Envelope, topic: str) -> dict[str, Any]:
    row = to_row(FakeRecord(value=encode(event), topic=topic))
    return {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "causation_id": row.causation_id,
        "occurred_at": row.occurred_at,
        "recorded_at": row.occurred_at,
        "payload": json.loads(json.dumps(row.payload)),
        "topic": row.topic,
        "kafka_partition": row.partition,
        "kafka_offset": row.offset,
    }


def result(cmd: Any, status: OutcomeStatus, **kw: Any) -> ZohoWriteOutcome:
    return ZohoWriteOutcome(
        **caused_by(cmd),
        module="Accounts",
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=status,
        **kw,
    )


def test_trail_shows_failure_recovery_and_the_replay_chain() -> None:
    raw = raw_event()
    cmd = command().model_copy(update={"causation_id": raw.event_id})
    failed = result(cmd, OutcomeStatus.FAILED, error_code="INTERNAL_ERROR", retryable=True)
    replay = raw.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "causation_id": raw.event_id,
            "replay": ReplayMarker(replay_id=uuid.uuid4(), of_event_id=raw.event_id),
        }
    )
    cmd2 = cmd.model_copy(update={"event_id": uuid.uuid4(), "causation_id": replay.event_id})
    ok = result(cmd2, OutcomeStatus.SUCCEEDED, zoho_id="99", action="update")
    rows = [
        stored(raw, "mlc.sage.changes"),
        stored(cmd, "mlc.zoho.commands"),
        stored(failed, "mlc.zoho.outcomes"),
        stored(replay, "mlc.sage.changes"),
        stored(cmd2, "mlc.zoho.commands"),
        stored(ok, "mlc.zoho.outcomes"),
    ]
    trail = build_trail(rows)
    assert [e.kind for e in trail] == [
        "poll",
        "command",
        "write failed",
        "replay",
        "command",
        "recovered",
    ]
    assert [e.replay for e in trail] == [False, False, False, True, True, True]
    assert "INTERNAL_ERROR" in trail[2].summary and "99" in trail[5].summary
    assert trail[5].as_json()["replay"] is True


def test_a_replayed_command_shows_as_a_replay_and_its_outcome_as_the_recovery() -> None:
    cmd = command()
    failed = result(cmd, OutcomeStatus.FAILED, error_code="INTERNAL_ERROR", retryable=True)
    again = cmd.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "causation_id": cmd.event_id,
            "trigger": [],
            "replay": ReplayMarker(
                replay_id=uuid.uuid4(), of_event_id=cmd.event_id, reason="replay --failed-only"
            ),
        }
    )
    ok = result(again, OutcomeStatus.SUCCEEDED, zoho_id="99", action="update")
    trail = build_trail(
        [
            stored(cmd, "mlc.zoho.commands"),
            stored(failed, "mlc.zoho.outcomes"),
            stored(again, "mlc.zoho.commands"),
            stored(ok, "mlc.zoho.outcomes"),
        ]
    )
    assert [(e.kind, e.replay) for e in trail] == [
        ("command", False),
        ("write failed", False),
        ("replay", True),
        ("recovered", True),
    ]
    assert "replay --failed-only" in trail[2].summary and "trigger=[]" in trail[2].summary


def test_a_write_that_rode_out_failures_shows_as_a_recovery_naming_them() -> None:
    cmd = command()
    plain = result(cmd, OutcomeStatus.SUCCEEDED, zoho_id="7", action="insert")
    ridden = result(
        cmd.model_copy(update={"event_id": uuid.uuid4()}),
        OutcomeStatus.SUCCEEDED,
        zoho_id="7",
        action="update",
        recovered_from="attempt 1: INTERNAL_ERROR (503); 401 INVALID_TOKEN: access token refreshed",
    )
    trail = build_trail([stored(plain, "mlc.zoho.outcomes"), stored(ridden, "mlc.zoho.outcomes")])
    assert [e.kind for e in trail] == ["written", "recovered"]
    assert "after attempt 1: INTERNAL_ERROR (503)" in trail[1].summary
    assert "INVALID_TOKEN" in trail[1].summary
