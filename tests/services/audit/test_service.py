from __future__ import annotations

import base64

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


def test_nul_characters_are_replaced_and_the_exact_message_kept() -> None:
    cmd = command(Description="a\x00b", **{"Odd\x00Name": ["x\x00"]})
    value = encode(cmd)
    row = to_row(FakeRecord(value=value))
    assert row.payload["record"]["Description"] == "a\u2400b"
    assert row.payload["record"]["Odd\u2400Name"] == ["x\u2400"]
    assert base64.b64decode(row.payload["_mlc_nul_replaced"]["value_b64"]) == value


def test_payload_without_nul_is_left_as_it_is() -> None:
    row = to_row(FakeRecord(value=encode(command())))
    assert "_mlc_nul_replaced" not in row.payload
