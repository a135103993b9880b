from __future__ import annotations

import json
import uuid

import pytest
from mlc_core.contracts import DeadLetter, SageRecordChanged, ZohoUpsertCommand, caused_by
from mlc_ops.replay_events import pick_auto, replay_batch, replayed
from pydantic import BaseModel

from tests.factories import command, raw_event


def payload_of(event: BaseModel) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(event.model_dump_json())
    return loaded


def test_replayed_raw_event_has_new_id_causation_and_marker() -> None:
    raw = raw_event()
    run = uuid.uuid4()
    topic, event = replayed(raw.event_id, payload_of(raw), replay_id=run, reason="replay")
    assert topic == "mlc.sage.changes" and isinstance(event, SageRecordChanged)
    assert event.event_id != raw.event_id and event.causation_id == raw.event_id
    assert event.replay is not None and event.replay.of_event_id == raw.event_id
    assert event.record == raw.record and event.source_version == raw.source_version
    again = replayed(raw.event_id, payload_of(raw), replay_id=run, reason="replay")[1]
    other = replayed(raw.event_id, payload_of(raw), replay_id=uuid.uuid4(), reason="replay")[1]
    assert again.event_id == event.event_id != other.event_id  # one id per run and original


def test_replay_of_a_replay_points_to_the_first_original() -> None:
    raw = raw_event()
    first = replayed(raw.event_id, payload_of(raw), replay_id=uuid.uuid4(), reason="replay")[1]
    second = replayed(first.event_id, payload_of(first), replay_id=uuid.uuid4(), reason="x")[1]
    assert second.causation_id == first.event_id
    assert second.replay is not None and second.replay.of_event_id == raw.event_id


def test_replayed_commands_never_fire_zoho_workflows() -> None:
    cmd = command().model_copy(update={"trigger": ["workflow"]})
    ((topic, event),) = replay_batch(
        [(cmd.event_id, payload_of(cmd))], replay_id=uuid.uuid4(), reason="r"
    )
    assert topic == "mlc.zoho.commands" and isinstance(event, ZohoUpsertCommand)
    assert event.trigger == []


def test_dead_letters_are_not_replayable_as_such() -> None:
    cmd = command()
    letter = DeadLetter(
        **caused_by(cmd),
        stage="mapper",
        error_class="MappingError",
        error_message="m",
        original_topic="mlc.sage.changes",
        original={},
    )
    with pytest.raises(ValueError, match="not replayable"):
        replayed(letter.event_id, payload_of(letter), replay_id=uuid.uuid4(), reason="r")


def test_auto_prefers_the_command_of_the_newest_version_else_the_raw_event() -> None:
    mapped = raw_event(CustomerNo="MAPPED")
    mapped_cmd = command(key="01-MAPPED", version=mapped.source_version)
    newer = raw_event(CustomerNo="NEWER").model_copy(
        update={"source_version": "20261127 09.000000"}
    )
    older_cmd = command(key="01-NEWER", version="20261126 09.000000")
    picked = pick_auto(
        [(e.event_id, payload_of(e)) for e in (mapped, newer)],
        [(c.event_id, payload_of(c)) for c in (mapped_cmd, older_cmd)],
    )
    assert [event_id for event_id, _ in picked] == [mapped_cmd.event_id, newer.event_id]


def test_force_marks_replayed_commands_only() -> None:
    cmd, raw = command(), raw_event()
    run = uuid.uuid4()
    plain = replayed(cmd.event_id, payload_of(cmd), replay_id=run, reason="replay")[1]
    forced = replayed(cmd.event_id, payload_of(cmd), replay_id=run, reason="fix", force=True)[1]
    assert isinstance(plain, ZohoUpsertCommand) and plain.force is False
    assert isinstance(forced, ZohoUpsertCommand) and forced.force is True
    raw_again = replayed(raw.event_id, payload_of(raw), replay_id=run, reason="fix", force=True)
    assert isinstance(raw_again[1], SageRecordChanged)  # the mapper makes its command anew
