"""check_values's per-column fast path decides exactly as the plain per-value checks did: the
same records pass, and a bad one fails on the same field with the same message."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from mlc_core.contracts import Entity
from sage_poller.validation import (
    MAX_TEXT_LENGTH,
    TEXT_LENGTHS,
    UNDECODABLE,
    InvalidRecord,
    _check_unicode,
    _is_date_column,
    _valid_date,
    check_values,
)


def reference(record: dict[str, Any], entity: Entity | None = None) -> None:
    """check_values as it was before the fast path."""
    lengths = TEXT_LENGTHS.get(entity, {}) if entity is not None else {}
    for name, value in record.items():
        if isinstance(value, str):
            limit = lengths.get(name, MAX_TEXT_LENGTH)
            if len(value) > limit:
                raise InvalidRecord(name, f"{len(value)} characters; Sage holds at most {limit}")
            if not value.isascii():
                _check_unicode(name, value)
            if _is_date_column(name) and value and not _valid_date(value):
                raise InvalidRecord(name, f"expected a YYYYMMDD date, got {value!r}")
        elif isinstance(value, dict) and UNDECODABLE in value:
            raise InvalidRecord(name, f"text is not valid UTF-8 (bytes {value[UNDECODABLE]})")
        elif isinstance(value, list):
            for index, line in enumerate(value):
                if isinstance(line, dict):
                    try:
                        reference(line)
                    except InvalidRecord as error:
                        inner = str(error).removeprefix(f"{error.field}: ")
                        raise InvalidRecord(f"{name}[{index}].{error.field}", inner) from None
        elif value is not None and _is_date_column(name):
            raise InvalidRecord(name, f"expected a YYYYMMDD date, got {value!r}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidRecord(name, f"not a finite number: {value!r}")


def outcome(check: Any, record: dict[str, Any], entity: Entity | None) -> tuple[str, str] | None:
    try:
        check(record, entity)
    except InvalidRecord as error:
        return error.field, str(error)
    return None


NAMES = st.sampled_from(
    ["CustomerName", "State", "PriceLevel", "DateEstablished", "DateUpdated", "InvoiceDate",
     "TimeUpdated", "Comment", "UDF_NOTES", "ContactNotes", "ItemCode", "CreditLimit"]
)  # fmt: skip
TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "20261126", "20260230", "2026112", "M\ufffdnchen", "\udc80", "Zürich"]),
    st.integers(0, 70_000).map(lambda n: "x" * n),
)
VALUE = st.one_of(
    TEXT,
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.integers(),
    st.just({UNDECODABLE: "4dfc"}),
)
RECORD = st.dictionaries(NAMES, VALUE, max_size=8)
LINES = st.lists(st.dictionaries(NAMES, VALUE, max_size=4), max_size=3)
ENTITY = st.sampled_from([None, Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT, Entity.AP_VENDOR])


@settings(max_examples=400)
@given(record=RECORD, lines=st.one_of(st.none(), LINES), entity=ENTITY)
def test_fast_path_decides_like_the_plain_checks(
    record: dict[str, Any], lines: list[dict[str, Any]] | None, entity: Entity | None
) -> None:
    if lines is not None:
        record = {**record, "Lines": lines}
    assert outcome(check_values, record, entity) == outcome(reference, record, entity)


def test_the_same_column_keeps_each_entitys_own_limit() -> None:
    # CustomerName holds 50 for customers; no entity (detail lines) allows up to the cap.
    assert outcome(check_values, {"CustomerName": "x" * 51}, Entity.AR_CUSTOMER) is not None
    assert outcome(check_values, {"CustomerName": "x" * 51}, None) is None
    assert outcome(check_values, {"CustomerName": "x" * 51}, Entity.AR_CUSTOMER) is not None
