"""AR_Customer column dictionary and value normalisation (sage100.md §3).

Lengths follow the wider UtahGooner DDL where it differs from FLOR Rel 6.00.
String columns hold strings (blank = ""), numeric columns hold numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

Value = str | float
Row = dict[str, Value]

CUSTOMER_NO_PAD = 7
UDF_PREFIX = "UDF_"


class Kind(enum.Enum):
    TEXT = "text"
    NUMBER = "number"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    length: int = 0
    default: Value = ""
    choices: tuple[str, ...] = ()


def _text(name: str, length: int, default: str = "", choices: tuple[str, ...] = ()) -> Column:
    return Column(name, Kind.TEXT, length, default, choices)


def _num(name: str) -> Column:
    return Column(name, Kind.NUMBER, 0, 0.0)


AUDIT_COLUMNS: tuple[str, ...] = (
    "DateCreated",
    "TimeCreated",
    "UserCreatedKey",
    "DateUpdated",
    "TimeUpdated",
    "UserUpdatedKey",
)

AR_CUSTOMER_COLUMNS: tuple[Column, ...] = (
    _text("ARDivisionNo", 2),
    _text("CustomerNo", 20),
    _text("CustomerName", 50),
    _text("AddressLine1", 40),
    _text("AddressLine2", 40),
    _text("AddressLine3", 40),
    _text("City", 30),
    _text("State", 2),
    _text("ZipCode", 10),
    _text("CountryCode", 3),
    _text("TelephoneNo", 20),
    _text("TelephoneExt", 6),
    _text("FaxNo", 20),
    _text("EmailAddress", 250),
    _text("URLAddress", 50),
    _text("ContactCode", 10),
    _text("SalespersonDivisionNo", 2),
    _text("SalespersonNo", 4),
    _text("TermsCode", 2, "00"),
    _text("TaxSchedule", 9),
    _text("CustomerType", 4),
    _text("PriceLevel", 1),
    _text("SortField", 10),
    _text("Comment", 30),
    _text("DefaultPaymentType", 5, "CHECK"),
    _text("CreditHold", 1, "N", ("Y", "N")),
    _text("CustomerStatus", 1, "A", ("A", "I", "T")),
    _text("DateEstablished", 8),
    _num("CreditLimit"),
    _num("CurrentBalance"),
    _text("DateCreated", 8),
    _text("TimeCreated", 8),
    _text("UserCreatedKey", 10),
    _text("DateUpdated", 8),
    _text("TimeUpdated", 8),
    _text("UserUpdatedKey", 10),
)

COLUMNS: dict[str, Column] = {column.name: column for column in AR_CUSTOMER_COLUMNS}


class RecordError(ValueError):
    """A value Sage would refuse (like BOI's CI_CharLength / invalid value)."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column


def normalize_division(raw: object) -> str:
    """ARDivisionNo: two digits, zero-filled ("1" -> "01")."""
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 2:
        raise RecordError("ARDivisionNo", f"must be 1-2 digits, got {raw!r}")
    return text.zfill(2)


def normalize_customer_no(raw: object) -> str:
    """CustomerNo: numeric-only numbers are zero-padded to 7 digits ("12" -> "0000012").

    Longer numeric numbers and alphanumeric numbers are kept exactly as entered.
    Whether Sage upper-cases customer numbers is unconfirmed (sage100.md §3), so
    the emulator does not: tests can plant odd keys such as "bad key" to check
    that the poller rejects them.
    """
    text = str(raw).strip()
    if not text or len(text) > 20:
        raise RecordError("CustomerNo", f"must be 1-20 characters, got {raw!r}")
    if text.isdigit() and len(text) < CUSTOMER_NO_PAD:
        return text.zfill(CUSTOMER_NO_PAD)
    return text


def display_key(division: str, customer_no: str) -> str:
    """Integrator-style key, e.g. "01-0000012"."""
    return f"{division}-{customer_no}"


def parse_display_key(key: str) -> tuple[str, str]:
    division, sep, customer_no = key.partition("-")
    if not sep:
        raise RecordError("key", f"expected DIVISION-CUSTOMERNO, got {key!r}")
    return normalize_division(division), normalize_customer_no(customer_no)


def blank_row() -> Row:
    return {column.name: column.default for column in AR_CUSTOMER_COLUMNS}


def normalize_patch(raw: Mapping[str, object]) -> Row:
    """Validate and normalise a partial row; unknown non-UDF columns are refused."""
    patch: Row = {}
    for name, value in raw.items():
        column = COLUMNS.get(name)
        if column is None:
            patch[name] = _normalize_udf(name, value)
        elif name == "ARDivisionNo" or name == "SalespersonDivisionNo":
            patch[name] = normalize_division(value) if str(value).strip() else ""
        elif name == "CustomerNo":
            patch[name] = normalize_customer_no(value)
        else:
            patch[name] = _normalize_value(column, value)
    return patch


def _normalize_udf(name: str, value: object) -> Value:
    if not name.startswith(UDF_PREFIX):
        raise RecordError(name, "unknown AR_Customer column")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(name, "UDF values must be strings or numbers")
    return value if isinstance(value, str) else float(value)


def _normalize_value(column: Column, value: object) -> Value:
    if column.kind is Kind.NUMBER:
        return _to_number(column.name, value)
    if value is None:
        return column.default
    if not isinstance(value, str):
        raise RecordError(column.name, f"expected a string, got {type(value).__name__}")
    text = value.upper() if column.choices else value
    if column.choices and text not in column.choices:
        raise RecordError(column.name, f"must be one of {'/'.join(column.choices)}")
    if len(text) > column.length:
        raise RecordError(column.name, f"is greater than {column.length} character(s)")
    return text


def _to_number(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise RecordError(name, "expected a number")
    if isinstance(value, int | float):
        return round(float(value), 2)
    if isinstance(value, str):
        try:
            return round(float(value), 2)
        except ValueError:
            pass
    raise RecordError(name, f"expected a number, got {value!r}")
