"""Reading Sage columns into Zoho values; every problem is a MappingError naming the column.

Sage rows arrive as JSON: text columns as strings (blank = "" or null), numeric columns as
numbers (or numeric strings from ODBC), dates as "YYYYMMDD" (or "YYYY-MM-DD" through ODBC).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from mapper.countries import iso_alpha3

Row = dict[str, Any]

# Printable text only: a replacement character, a lone surrogate or a control character
# (other than tab/newline) means the bytes were decoded with the wrong code page.
_BROKEN = re.compile("[\ufffd\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Zoho's own e-mail check is stricter than RFC 5322 and refuses spaces and missing dots.
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_FLAGS = {"Y": True, "N": False}
# Zoho's phone fields take digits and the usual separators, with an optional extension.
PHONE_PATTERN = re.compile(
    r"^\+?[0-9()\-./ ]*[0-9][0-9()\-./ ]*(?: ?(?:x|ext\.?) ?[0-9]+)?$", re.IGNORECASE
)


class MappingError(ValueError):
    """A Sage record that cannot become a valid Zoho record; `field` is the Sage column."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def text(row: Row, column: str) -> str | None:
    """Trimmed text, None when blank or missing."""
    value = row.get(column)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError(column, f"expected text, got {type(value).__name__}")
    stripped = value.strip()
    # isprintable() is the fast path; only text that fails it is searched for the bad parts.
    if not stripped.isprintable() or "\ufffd" in stripped:
        check_encoding(column, stripped)
    return stripped or None


def check_encoding(column: str, value: str) -> None:
    """Tabs and newlines pass; replacement characters, surrogates and controls do not."""
    if _BROKEN.search(value):
        raise MappingError(column, "broken encoding (replacement or control characters)")


def required_text(row: Row, column: str, zoho_field: str) -> str:
    value = text(row, column)
    if value is None:
        raise MappingError(column, f"is empty; Zoho requires {zoho_field}")
    return value


def number(row: Row, column: str) -> float | None:
    """A finite number, rounded to Sage's 6 decimals; None when blank or missing."""
    value: Any = row.get(column)
    cls = value.__class__
    # Plain JSON numbers first (an order line has several): the checks below pass them all.
    if (cls is float or cls is int) and (result := float(value)) - result == 0.0:
        return round(result, 6)
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


def money(row: Row, column: str) -> float | None:
    value = number(row, column)
    return None if value is None else round(value, 2)


def quantity(row: Row, column: str) -> float | None:
    value = number(row, column)
    if value is not None and value < 0:
        raise MappingError(column, f"negative quantity {value:g}")
    return value


def sage_date(row: Row, column: str) -> str | None:
    """'20261126' or '2026-11-26' -> '2026-11-26' (Zoho's date format)."""
    value = text(row, column)
    if value is None:
        return None
    digits = value.replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        raise MappingError(column, f"expected a date YYYYMMDD, got {value!r}")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        raise MappingError(column, f"not a calendar date: {value!r}") from None


def flag(row: Row, column: str) -> bool | None:
    value = text(row, column)
    if value is None:
        return None
    answer = _FLAGS.get(value.upper())
    if answer is None:
        raise MappingError(column, f"expected Y or N, got {value!r}")
    return answer


def code(row: Row, column: str, names: dict[str, str]) -> str | None:
    """A one-letter Sage code to its name; an unknown code is an error, not a guess."""
    value = text(row, column)
    if value is None:
        return None
    name = names.get(value.upper())
    if name is None:
        raise MappingError(column, f"unknown code {value!r}; expected one of {'/'.join(names)}")
    return name


def email(row: Row, column: str) -> str | None:
    value = text(row, column)
    if value is not None and not EMAIL_PATTERN.match(value):
        raise MappingError(column, f"not an e-mail address: {value!r}")
    return value


def country(row: Row, column: str) -> str | None:
    value = text(row, column)
    if value is None:
        return None
    normalised = iso_alpha3(value)
    if normalised is None:
        raise MappingError(column, f"unknown country {value!r}")
    return normalised


def phone(row: Row, number_column: str, ext_column: str) -> str | None:
    """'(414) 555-4787' plus extension '12' -> '(414) 555-4787 x12'."""
    main, ext = text(row, number_column), text(row, ext_column)
    if main is not None and not PHONE_PATTERN.match(main):
        raise MappingError(number_column, f"not a phone number: {main!r}")
    if main is not None and ext is not None and not ext.isdigit():
        raise MappingError(ext_column, f"a phone extension is digits, got {ext!r}")
    return f"{main} x{ext}" if main and ext else main


def street(row: Row, *columns: str) -> str | None:
    # text() gives None or a non-empty str; every column is read, in order, as before.
    return ", ".join([line for column in columns if (line := text(row, column))]) or None


def division_key(row: Row, division_column: str, number_column: str) -> str:
    """'01' + 'ABF' -> '01-ABF', the form the poller keys records by."""
    return f"{required_text(row, division_column, 'the parent key')}-" + required_text(
        row, number_column, "the parent key"
    )


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """Leave out empty values: Zoho keeps what it has for fields we do not send."""
    return {name: value for name, value in record.items() if value is not None}
