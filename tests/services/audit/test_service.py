from __future__ import annotations

from audit.service import to_row
from mlc_core.contracts import encode

from tests.factories import FakeRecord, command


def test_event_becomes_row_with_links_and_position() -> None:
    cmd = command()
    row = to_row(FakeRecord(value=encode(cmd), topic="mlc.zoho.commands", partition=3, offset=9))
    assert row.event_id == cmd.event_id and row.event_type == "zoho.upsert.requested"
    assert row.causation_id == cmd.causation_id and row.source_key == "01-ABF"
    assert (row.topic, row.partition, row.offset) == ("mlc.zoho.commands", 3, 9)
    assert row.payload["record"]["Account_Name"] == "Customer 01-ABF"


def test_malformed_message_is_kept_with_a_stable_id() -> None:
    first = to_row(FakeRecord(value=b"not json", key=b"acme|x", offset=5))
    again = to_row(FakeRecord(value=b"not json", key=b"acme|x", offset=5))
    assert first.event_type == "mlc.undecodable" and first.event_id == again.event_id
    assert first.payload["value_b64"] == "bm90IGpzb24="
