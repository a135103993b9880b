from __future__ import annotations

import uuid

import pytest
from mlc_core.contracts import (
    DeadLetter,
    SageRecordChanged,
    ZohoUpsertCommand,
    decode,
    encode,
    record_key,
)
from pydantic import ValidationError

from tests.factories import command, raw_event


def test_round_trip_keeps_type_and_fields() -> None:
    event = raw_event()
    back = decode(encode(event))
    assert isinstance(back, SageRecordChanged)
    assert back == event


def test_one_records_events_share_a_kafka_key() -> None:
    raw = raw_event(CustomerNo="ABF")
    cmd = command(key="01-ABF")
    assert raw.kafka_key == cmd.kafka_key == record_key("acme", "ar_customer", "01-ABF")


def test_decode_rejects_unknown_event_type() -> None:
    with pytest.raises(ValidationError):
        decode(b'{"event_type": "something.else", "tenant_id": "t"}')


def test_envelope_rejects_extra_fields() -> None:
    data = command().model_dump(mode="json") | {"surprise": 1}
    with pytest.raises(ValidationError):
        ZohoUpsertCommand.model_validate(data)


def test_dead_letter_without_record_is_keyed_by_tenant() -> None:
    letter = DeadLetter(
        tenant_id="acme",
        correlation_id=uuid.uuid4(),
        stage="mapper",
        error_class="X",
        error_message="m",
        original_topic="t",
        original={},
    )
    assert letter.kafka_key == b"acme"
