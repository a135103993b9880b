"""contracts.encode serialises with the model's own serializer directly (no str round trip):
its bytes are model_dump_json()'s, and what the mapper publishes decodes, as the writer and
the audit decode it, to a model equal to the one sent."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapper.service import map_event
from mlc_core.contracts import (
    DeadLetter,
    Entity,
    Envelope,
    ReplayMarker,
    SageRecordChanged,
    SageRecordDeleted,
    ZohoUpsertCommand,
    decode,
    encode,
)

from tests.factories import raw_event
from tests.services.mapper.test_properties import events

AWKWARD = {
    "Text": 'ÄÖÜ 北京 😀 "quoted" \\ back',
    "Nul": "a\x00b",
    "Control": "\x1b[0m\x7f",
    "Big": 10**30,
    "Huge": 2**63 + 1,
    "Small": -(2**63),
    "Float": 1e-300,
    "Neg": -0.0,
    "Nested": {"a": [1, None, True, "x"]},
    "None": None,
}


def assert_same_bytes(message: Envelope, *, finite: bool = True) -> None:
    """Same bytes as before; decoded, the same model (a non-finite float in a raw row is
    written as null, as before, so only its bytes are compared)."""
    assert encode(message) == message.model_dump_json().encode()
    again = decode(encode(message))
    assert type(again) is type(message) and encode(again) == encode(message)
    if finite:
        assert again == message


def test_a_raw_event_with_awkward_values_encodes_and_decodes_unchanged() -> None:
    changed = raw_event(**AWKWARD)
    assert changed.change is None and changed.causation_id is None and changed.replay is None
    assert_same_bytes(changed)
    assert decode(encode(changed)) == SageRecordChanged.model_validate_json(encode(changed))


def test_every_event_type_encodes_as_model_dump_json_did() -> None:
    changed = raw_event(**AWKWARD)
    replayed = changed.model_copy(
        update={"replay": ReplayMarker(replay_id=uuid.uuid4(), of_event_id=changed.event_id)}
    )
    deleted = SageRecordDeleted(
        tenant_id="acme",
        correlation_id=uuid.uuid4(),
        entity=Entity.AR_CUSTOMER,
        source_key="01-ÄBF",
        company_code="ABC",
    )
    messages: list[Envelope] = [changed, replayed, deleted]
    for raw in (changed, raw_event(CustomerName=""), raw_event(CustomerName="bad\x00")):
        messages += [message for _, message in map_event(raw)]
    assert {type(m) for m in messages} >= {ZohoUpsertCommand, DeadLetter, SageRecordDeleted}
    for message in messages:
        assert_same_bytes(message)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events)
def test_whatever_the_mapper_publishes_decodes_to_what_it_sent(raw: Any) -> None:
    assert_same_bytes(raw, finite=False)
    decoded = decode(encode(raw))
    assert isinstance(decoded, SageRecordChanged)
    for _, message in map_event(decoded):
        # Commands hold finite numbers only; a dead letter keeps the row as it came.
        assert_same_bytes(message, finite=isinstance(message, ZohoUpsertCommand))
        if isinstance(message, ZohoUpsertCommand):
            validated = ZohoUpsertCommand.model_validate(message.model_dump())
            assert encode(message) == encode(validated)  # field order too


@given(text=st.text(), number=st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_any_record_value_survives_the_wire(text: str, number: Any) -> None:
    assert_same_bytes(raw_event(Extra=text, Amount=number, CustomerName=text or "x"))
