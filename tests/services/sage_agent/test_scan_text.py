"""The agent's text values: anything that is not valid Unicode leaves the agent marked with its
bytes, so the poller names the field instead of the agent failing the whole page."""

from __future__ import annotations

import json

import pytest
from sage_agent.scan import text_value


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("Mil\udc80", b"Mil\x80"),  # a byte of Sage's file that is not UTF-8 (surrogateescape)
        ("A\ud800B", "A\ud800B".encode("utf-8", "surrogatepass")),  # a lone high surrogate
        ("\udbff", "\udbff".encode("utf-8", "surrogatepass")),
    ],
)
def test_text_that_is_not_unicode_is_marked_with_its_bytes(text: str, raw: bytes) -> None:
    marked = text_value(text)
    assert marked == {"$undecodable_hex": raw.hex()}
    json.dumps(marked).encode("utf-8")  # always sendable


def test_plain_text_is_passed_on() -> None:
    assert text_value("Café Zürich") == "Café Zürich"
