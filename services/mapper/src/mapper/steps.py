"""The steps mapper.engine compiles a mapping into: closures that read one field's value (or
a run of plain fields' values) from a Sage row into the Zoho record and hold it to Zoho's
limits for the field (length, format, text), raising MappingError naming the Sage column."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mapper import values as v
from mapper.fields import Prepared, Reader
from mapper.limits import FORMATS, TEXT_LENGTHS, max_length
from mapper.profile import translate
from mapper.values import MappingError, Row

# A step: reads its field's value from (row, Sage key, prepared) into the record.
Step = Callable[[Row, str, Prepared, dict[str, Any]], None]
Check = Callable[[Any], None]
Value = Callable[[Row, str, Prepared], Any]
NO_DEFAULT = object()


def general_step(
    name: str, read: Value, check: Check, codes: tuple[Mapping[str, Any], ...], default: Any
) -> Step:
    """A field with code tables or a default, an added field or a constant."""

    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        value = read(row, key, found)
        for table in codes:
            value = translate(value, table)
        if (value is None or value == "") and default is not NO_DEFAULT:
            value = default
        if value is not None:
            check(value)
            record[name] = value

    return step


def checker(module: str, name: str, source: str) -> Check:
    """Zoho's limits for one field: its length and format, and text where Zoho takes text."""
    limit, pattern = max_length(module, name), FORMATS.get(name)
    textual = name in TEXT_LENGTHS.get(module, {})

    def check(value: Any) -> None:
        if isinstance(value, str):
            if len(value) > limit:
                raise too_long(module, source, name, value, limit)
            if pattern is not None and not pattern[0].match(value):
                raise MappingError(source, f"{pattern[1]}: {value!r}")
        elif textual:
            raise MappingError(source, f"Zoho {module}.{name} takes text")

    return check


def too_long(module: str, source: str, name: str, value: str, limit: int) -> MappingError:
    return MappingError(source, f"{len(value)} characters; Zoho {module}.{name} allows {limit}")


def text_run(module: str, fields: list[tuple[str, str, bool]]) -> Step:
    """Plain text from a column each: trimmed, printable, within the field's length and
    format."""
    specs = []
    for name, column_name, required in fields:
        pattern = FORMATS.get(name)
        match, problem = (None, "") if pattern is None else (pattern[0].match, pattern[1])
        specs.append((name, column_name, required, max_length(module, name), match, problem))

    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        get = row.get
        for name, column_name, required, limit, match, problem in specs:
            value = get(column_name)
            if value.__class__ is str and (value := value.strip()):
                if not value.isprintable() or "\ufffd" in value:
                    v.check_encoding(column_name, value)
                if len(value) > limit:
                    raise too_long(module, column_name, name, value, limit)
                if match is not None and not match(value):
                    raise MappingError(column_name, f"{problem}: {value!r}")
                record[name] = value
            elif value is not None and not isinstance(value, str):
                raise MappingError(column_name, f"expected text, got {type(value).__name__}")
            elif required:
                raise MappingError(column_name, f"is empty; Zoho requires {name}")

    return step


def money_run(fields: list[tuple[str, str]]) -> Step:
    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        get = row.get
        for name, column_name in fields:
            value: Any = get(column_name)
            cls = value.__class__
            # Finite plain numbers inline; NaN, infinities and text take values.money.
            if (cls is float or cls is int) and (amount := float(value)) - amount == 0.0:
                record[name] = round(round(amount, 6), 2)
            elif value is not None and (value := v.money(row, column_name)) is not None:
                record[name] = value

    return step


def copy_run(pairs: list[tuple[str, str]]) -> Step:
    """Fields with the same value as an earlier one and no stricter limits."""

    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        for name, earlier in pairs:
            if (value := record.get(earlier)) is not None:
                record[name] = value

    return step


def key_step(module: str, name: str, limit: int) -> Step:
    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        if len(key) > limit:
            raise too_long(module, name, name, key, limit)
        record[name] = key

    return step


def read_step(module: str, name: str, read: Reader, check: Check | None) -> Step:
    if check is None:  # numbers and flags: nothing to check

        def unchecked(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
            if (value := read(row)) is not None:
                record[name] = value

        return unchecked
    limit, match = limits(module, name)

    # The check runs only when it could fail: a str within the limit that matches the
    # field's format (if any) always passes it.
    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        if (value := read(row)) is not None:
            if (
                value.__class__ is not str
                or len(value) > limit
                or (match is not None and not match(value))
            ):
                check(value)
            record[name] = value

    return step


def derive_step(module: str, name: str, derive: Value, check: Check | None) -> Step:
    limit, match = limits(module, name)

    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        if (value := derive(row, key, found)) is not None:
            if check is not None and (
                value.__class__ is not str
                or len(value) > limit
                or (match is not None and not match(value))
            ):
                check(value)
            record[name] = value

    return step


def limits(module: str, name: str) -> tuple[int, Callable[[str], object] | None]:
    pattern = FORMATS.get(name)
    return max_length(module, name), None if pattern is None else pattern[0].match


def copy_step(module: str, name: str, earlier: str, source: str) -> Step:
    """The value of an earlier field read from the same column(s), held to this field's own
    limits, which differ from the earlier one's."""
    check, (limit, match) = checker(module, name, source), limits(module, name)

    def step(row: Row, key: str, found: Prepared, record: dict[str, Any]) -> None:
        if (value := record.get(earlier)) is not None:
            if (
                value.__class__ is not str
                or len(value) > limit
                or (match is not None and not match(value))
            ):
                check(value)
            record[name] = value

    return step
