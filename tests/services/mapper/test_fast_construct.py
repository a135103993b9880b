"""Shortcuts on the mapper's hot path against what they replace: command ids against
uuid.uuid5, and values.number, flag and street against their code before (kept here)."""

from __future__ import annotations

import hashlib
import math
import pickle
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from mapper import values as v
from mapper.service import COMMAND_NAMESPACE, fast_uuid5, map_event
from mapper.values import MappingError
from mlc_core.contracts import Entity, ZohoUpsertCommand

from tests.services.mapper import rows
from tests.services.mapper.rows import event


@given(name=st.text() | st.sampled_from(["", "\x00", "ÄBF:北京:😀", "x" * 5000]))
def test_fast_uuid5_is_uuid5(name: str) -> None:
    digest = hashlib.sha1(COMMAND_NAMESPACE.bytes + name.encode(), usedforsecurity=False)
    made = fast_uuid5(digest.digest())
    assert made == uuid.uuid5(COMMAND_NAMESPACE, name)
    assert made.version == 5 and made.variant == uuid.RFC_4122
    assert str(made) == str(uuid.uuid5(COMMAND_NAMESPACE, name))
    assert hash(made) == hash(uuid.UUID(str(made))) and made.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(made)) == made


def test_command_ids_are_uuid5_of_event_module_and_key() -> None:
    raw = event(Entity.SALES_ORDER, rows.order_row())
    for _, cmd in map_event(raw):
        assert isinstance(cmd, ZohoUpsertCommand)
        name = f"{raw.event_id}:command:{cmd.module}:{cmd.external_value}"
        assert cmd.event_id == uuid.uuid5(COMMAND_NAMESPACE, name)


def _number_before(row: dict[str, Any], column: str) -> float | None:
    """values.number as it was before its fast path for plain numbers."""
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MappingError(column, f"expected a number, got {type(value).__name__}")
    try:
        result = float(value)
    except ValueError:
        raise MappingError(column, f"expected a number, got {value!r}") from None
    if not math.isfinite(result):
        raise MappingError(column, f"expected a finite number, got {value!r}")
    return round(result, 6)


def _outcome(read: Any, value: Any) -> Any:
    try:
        result = read({"Amt": value}, "Amt")
    except Exception as error:
        return type(error).__name__, str(error)
    return ("nan",) if isinstance(result, float) and math.isnan(result) else (type(result), result)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**53 + 1, True, False, None, "", " ", "1e3", "nan"]),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=1),
)


@given(value=numbers)
def test_number_fast_path_answers_as_the_general_one(value: Any) -> None:
    assert _outcome(v.number, value) == _outcome(_number_before, value)


def _flag_before(row: dict[str, Any], column: str) -> bool | None:
    value = v.text(row, column)
    if value is None:
        return None
    if value.upper() not in {"Y": True, "N": False}:
        raise MappingError(column, f"expected Y or N, got {value!r}")
    return {"Y": True, "N": False}[value.upper()]


def _street_before(row: dict[str, Any], *columns: str) -> str | None:
    lines = [v.text(row, column) for column in columns]
    return ", ".join(line for line in lines if line) or None


cells = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "Y", "n", " y ", "N\x00", "yes", "\ufffd", "Suite 1"]),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
)


@given(value=cells)
def test_flag_answers_as_before(value: Any) -> None:
    assert _outcome(v.flag, value) == _outcome(_flag_before, value)


@given(lines=st.lists(cells, min_size=3, max_size=3))
def test_street_answers_as_before(lines: list[Any]) -> None:
    row = dict(zip(["A1", "A2", "A3"], lines, strict=True))

    def outcome(read: Any) -> Any:
        try:
            return read(row, "A1", "A2", "A3")
        except MappingError as error:
            return error.field, str(error)

    assert outcome(v.street) == outcome(_street_before)
