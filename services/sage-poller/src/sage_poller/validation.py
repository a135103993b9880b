"""Pure checks of one raw Sage record: its key, its dates and its text.

A record that fails becomes a dead letter naming tenant, entity, key and field; it never blocks
the rest of the page.
"""

from __future__ import annotations

import functools
import re
from typing import Any, TypeGuard

from mlc_core.contracts import Entity
from mlc_core.sage.entities import KEY_SEPARATOR, SPECS

_DIVISION = re.compile(r"^\d{2}$")
_CUSTOMER_NO = re.compile(r"^[A-Z0-9][A-Z0-9\-_.&/]{0,19}$")
_DATE = re.compile(r"^\d{8}$")
# Lengths of key columns (sage100.md §3); longer values cannot be Sage keys.
KEY_LENGTHS = {
    "CustomerNo": 20,
    "ContactCode": 10,
    "VendorNo": 7,
    "InvoiceNo": 20,
    "HeaderSeqNo": 6,
    "AccountKey": 9,
    "AccountGroup": 15,
    "SalesOrderNo": 7,
}
UNDECODABLE = "$undecodable_hex"


class InvalidRecord(ValueError):
    """A Sage record the poller cannot key, stamp or pass on."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def _key_value(column: str, value: Any) -> str:
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
    if len(value) > KEY_LENGTHS.get(column, 20):
        raise InvalidRecord(column, f"longer than {KEY_LENGTHS.get(column, 20)} characters")
    if KEY_SEPARATOR in value:
        raise InvalidRecord(column, f"{KEY_SEPARATOR!r} is not allowed in a key value")
    return value


def source_key(record: dict[str, Any], entity: Entity) -> str:
    """The entity's source_key (docs/sage-entities.md), after checking every key column."""
    spec = SPECS[entity]
    return spec.source_key({c: _key_value(c, record.get(c)) for c in spec.key_columns})


def customer_key(record: dict[str, Any]) -> str:
    """'01-ABF': division, dash, customer number (the form integrators display)."""
    return source_key(record, Entity.AR_CUSTOMER)


def shown_key(record: dict[str, Any], entity: Entity) -> str:
    """The key as far as it can be read, for error messages about a record that failed."""
    spec = SPECS[entity]
    return spec.source_key({c: record.get(c, "?") for c in spec.key_columns})[:64]


def check_values(record: dict[str, Any]) -> None:
    """Dates are YYYYMMDD or blank; text decodes (the agent marks undecodable bytes)."""
    for name, value in record.items():
        if isinstance(value, dict) and UNDECODABLE in value:
            raise InvalidRecord(name, f"text is not valid UTF-8 (bytes {value[UNDECODABLE]})")
        if isinstance(value, list):
            for line in value:
                if isinstance(line, dict):
                    check_values(line)
        elif _is_date_column(name) and value not in ("", None) and not _valid_date(value):
            raise InvalidRecord(name, f"expected a YYYYMMDD date, got {value!r}")


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
        values = SPECS[entity].key_values(key)
        return source_key(dict(values), entity) == key
    except (InvalidRecord, ValueError):
        return False
