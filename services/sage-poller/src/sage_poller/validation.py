"""Pure checks of one raw Sage record: its key, its dates and its text.

A record that fails becomes a dead letter naming tenant, entity, key and field; it never blocks
the rest of the page.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, TypeGuard

from mlc_core.contracts import Entity
from mlc_core.entities.sage import KEY_SEPARATOR, SAGE_TABLES

_DIVISION = re.compile(r"^\d{2}$")
_CUSTOMER_NO = re.compile(r"^[A-Z0-9][A-Z0-9\-_.&/]{0,19}$")
_DATE = re.compile(r"^\d{8}$")
# Longer key values cannot be Sage keys: each key column's length (SageTable.columns), else this.
DEFAULT_KEY_LENGTH = 20
KEY_LENGTHS: dict[Entity, dict[str, int]] = {
    entity: {c: table.columns.get(c) or DEFAULT_KEY_LENGTH for c in table.key_columns}
    for entity, table in SAGE_TABLES.items()
}
UNDECODABLE = "$undecodable_hex"
# Text lengths Sage stores (SageTable.columns; key columns are the key checks' business). A
# longer value is not something Sage holds: a corrupt read, or bytes decoded with the wrong
# code page.
TEXT_LENGTHS: dict[Entity, dict[str, int]] = {
    entity: {c: n for c, n in table.text_lengths.items() if c not in table.key_columns}
    for entity, table in SAGE_TABLES.items()
}
# Any other text column (memo fields, UDFs, detail lines): beyond this, a value is not data
# but a fault or an attack, and it should not travel through Kafka into the audit log.
MAX_TEXT_LENGTH = 65_536


class InvalidRecord(ValueError):
    """A Sage record the poller cannot key, stamp or pass on."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def _key_value(column: str, value: Any, limit: int) -> str:
    if column.endswith("DivisionNo"):
        if not isinstance(value, str) or not _DIVISION.fullmatch(value):
            raise InvalidRecord(column, f"expected two digits, got {value!r}")
        return value
    if column == "CustomerNo":
        if not isinstance(value, str) or not _CUSTOMER_NO.fullmatch(value):
            raise InvalidRecord(column, f"expected 1-20 upper-case characters, got {value!r}")
        return value
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(column, f"key column is missing or blank, got {value!r}")
    if len(value) > limit:
        raise InvalidRecord(column, f"longer than {limit} characters")
    if KEY_SEPARATOR in value:
        raise InvalidRecord(column, f"{KEY_SEPARATOR!r} is not allowed in a key value")
    return value


def source_key(record: dict[str, Any], entity: Entity) -> str:
    """The entity's source_key (docs/sage-entities.md), after checking every key column."""
    spec, limits = SAGE_TABLES[entity], KEY_LENGTHS[entity]
    return spec.source_key({c: _key_value(c, record.get(c), limits[c]) for c in spec.key_columns})


def customer_key(record: dict[str, Any]) -> str:
    """'01-ABF': division, dash, customer number (the form integrators display)."""
    return source_key(record, Entity.AR_CUSTOMER)


def shown_key(record: dict[str, Any], entity: Entity) -> str:
    """The key as far as it can be read, for error messages about a record that failed."""
    spec = SAGE_TABLES[entity]
    return spec.source_key({c: record.get(c, "?") for c in spec.key_columns})[:64]


def check_values(record: dict[str, Any], entity: Entity | None = None) -> None:
    """Dates are YYYYMMDD or blank; text decodes (the agent marks undecodable bytes) and fits
    the Sage column. Detail lines are checked too, named `Lines[3].ItemCode`."""
    lengths = TEXT_LENGTHS.get(entity, {}) if entity is not None else {}
    rules = _RULES.get(entity) or _RULES.setdefault(entity, {})
    for name, value in record.items():
        if isinstance(value, str):
            limit, is_date = rules.get(name) or _learn(rules, name, lengths)
            # Only over-long, non-ASCII and date values need the closer look of _check_text.
            if len(value) > limit or is_date or not value.isascii():
                _check_text(name, value, lengths)
        elif isinstance(value, dict) and UNDECODABLE in value:
            raise InvalidRecord(name, f"text is not valid UTF-8 (bytes {value[UNDECODABLE]})")
        elif isinstance(value, list):
            _check_lines(name, value)
        elif value is not None and _is_date_column(name):
            raise InvalidRecord(name, f"expected a YYYYMMDD date, got {value!r}")
        elif isinstance(value, float) and not math.isfinite(value):
            # JSON has no NaN or infinity: Kafka's encoding would turn it into null, a blank.
            raise InvalidRecord(name, f"not a finite number: {value!r}")


# Per entity, per column: (text length limit, is a date column), learnt as columns are met.
# check_values runs for every column of every record a poll reads (a tenth of the poller's
# CPU in an initial load, more in an incremental poll that re-reads unchanged records), and one
# dictionary lookup is cheaper than recomputing both for every value.
_RULES: dict[Entity | None, dict[str, tuple[int, bool]]] = {}
_MAX_RULES = 4096  # column names come from Sage's dictionary; this only bounds the memory


def _learn(
    rules: dict[str, tuple[int, bool]], name: str, lengths: dict[str, int]
) -> tuple[int, bool]:
    rule = (lengths.get(name, MAX_TEXT_LENGTH), _is_date_column(name))
    if len(rules) < _MAX_RULES:
        rules[name] = rule
    return rule


def _check_text(name: str, value: str, lengths: dict[str, int]) -> None:
    limit = lengths.get(name, MAX_TEXT_LENGTH)
    if len(value) > limit:
        raise InvalidRecord(name, f"{len(value)} characters; Sage holds at most {limit}")
    if not value.isascii():
        _check_unicode(name, value)
    if _is_date_column(name) and value and not _valid_date(value):
        raise InvalidRecord(name, f"expected a YYYYMMDD date, got {value!r}")


def _check_unicode(name: str, value: str) -> None:
    if "\ufffd" in value:
        # The agent decodes strictly; a replacement character was already in Sage's bytes
        # or was put there by a lossy decode on the way.
        raise InvalidRecord(name, "text is not valid UTF-8 (replacement character U+FFFD)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (JSON "\udc80"): no event holding it can be encoded for Kafka.
        raise InvalidRecord(name, "text is not valid UTF-8 (lone surrogate)") from None


def _check_lines(name: str, lines: list[Any]) -> None:
    for index, line in enumerate(lines):
        if isinstance(line, dict):
            try:
                check_values(line)
            except InvalidRecord as error:
                inner = str(error).removeprefix(f"{error.field}: ")
                raise InvalidRecord(f"{name}[{index}].{error.field}", inner) from None


@functools.lru_cache(maxsize=4096)
def _is_date_column(name: str) -> bool:
    return name.startswith("Date") or name.endswith("Date")


def valid_date(value: Any) -> TypeGuard[str]:
    """YYYYMMDD naming a real calendar day (cheaper than strptime on every record)."""
    return _valid_date(value)


def _valid_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:])
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        return False
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30]
    days += [31, 31, 30, 31, 30, 31]
    return 1 <= day <= days[month - 1]


def valid_source_key(key: str, entity: Entity) -> bool:
    """Whether a key from Sage's key set is one the poller would accept."""
    try:
        values = SAGE_TABLES[entity].key_values(key)
        return source_key(dict(values), entity) == key
    except (InvalidRecord, ValueError):
        return False
