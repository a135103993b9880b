"""Events Kafka cannot carry turn into dead letters that can (pure)."""

from __future__ import annotations

import base64
import uuid

from mlc_core.contracts import DeadLetter, Topics, decode
from mlc_core.unsendable import UNENCODABLE_KEY, encodable, safe_text, sendable

from tests.factories import raw_event


def test_nested_and_key_surrogates_are_replaced_with_their_code_units_kept() -> None:
    record = {"Lines": [{"Comment": "a\ud800b"}], "Bad\udc80Key": 1, "Fine": "Zürich"}
    safe, paths = encodable(record)
    assert paths == ["Bad\ufffdKey#name", "Lines[0].Comment"]
    assert safe["Bad\ufffdKey"] == 1
    assert safe["Lines"][0]["Comment"] == "a\ufffdb" and safe["Fine"] == "Zürich"
    kept = base64.b64decode(safe[UNENCODABLE_KEY]["Lines[0].Comment"])
    assert kept.decode("utf-8", "surrogatepass") == "a\ud800b"
    assert safe_text("ok") == "ok"


def test_an_unencodable_change_goes_as_a_dead_letter_naming_its_record() -> None:
    event = raw_event(tenant="acme", CustomerName="Mil\udc9d")
    topic, sent, payload = sendable(Topics.SAGE_CHANGES, event)
    assert topic == Topics.DEAD_LETTERS and isinstance(sent, DeadLetter)
    assert sent.error_class == "UnencodableText" and sent.field == "record.CustomerName"
    assert decode(payload) == sent and sent.source_key == event.source_key


def test_an_unencodable_dead_letter_keeps_its_own_diagnosis() -> None:
    letter = DeadLetter(
        tenant_id="acme",
        correlation_id=uuid.uuid4(),
        stage="mapper",
        error_class="MappingError",
        error_message="acme: bad",
        field="City",
        original_topic="mlc.sage.changes",
        original={"City": "x\udc80"},
    )
    topic, sent, _ = sendable(Topics.DEAD_LETTERS, letter)
    assert topic == Topics.DEAD_LETTERS
    assert isinstance(sent, DeadLetter) and sent.error_class == "MappingError"
    assert sent.original["City"] == "x\ufffd" and UNENCODABLE_KEY in sent.original


def test_an_event_within_the_limit_goes_as_it_is() -> None:
    event = raw_event(tenant="acme")
    assert sendable(Topics.SAGE_CHANGES, event)[1] is event


def test_an_oversized_event_names_its_largest_field() -> None:
    event = raw_event(tenant="acme", Comment="y" * 5000, Other="z" * 100)
    topic, sent, payload = sendable(Topics.SAGE_CHANGES, event, limit=4000)
    assert topic == Topics.DEAD_LETTERS
    assert isinstance(sent, DeadLetter) and sent.field == "record.Comment"
    assert len(payload) < 4000 and sent.original["truncated"] is True
