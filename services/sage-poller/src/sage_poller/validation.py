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
# Text lengths Sage stores (sage100.md §3, the wider DDL lengths where they differ). A longer
# value is not something Sage holds: a corrupt read, or bytes decoded with the wrong code page.
_LENGTHS = {
    Entity.AR_CUSTOMER: "CustomerName:50 AddressLine1:40 AddressLine2:40 AddressLine3:40"
    " City:30 State:2 ZipCode:10 CountryCode:3 TelephoneNo:20 TelephoneExt:6 FaxNo:20"
    " EmailAddress:250 URLAddress:50 ContactCode:10 SalespersonDivisionNo:2 SalespersonNo:4"
    " TermsCode:2 TaxSchedule:9 CustomerType:4 PriceLevel:1 SortField:10 Comment:30"
    " DefaultPaymentType:5 CreditHold:1 CustomerStatus:1 InactiveReasonCode:5",
    Entity.CUSTOMER_CONTACT: "ContactName:50 AddressLine1:40 AddressLine2:40 AddressLine3:40"
    " City:30 State:2 ZipCode:10 CountryCode:3 Salutation:10 ContactTitle:15 TelephoneNo1:20"
    " TelephoneExt1:6 TelephoneNo2:20 TelephoneExt2:6 FaxNo:20 EmailAddress:50"
    " ContactNotes:2048 PrimaryContact:1",
    Entity.AP_VENDOR: "VendorName:30 AddressLine1:30 AddressLine2:30 AddressLine3:30 City:20"
    " State:2 ZipCode:10 CountryCode:3 PrimaryContact:10 TelephoneNo:17 TelephoneExt:5"
    " FaxNo:17 EmailAddress:250 URLAddress:50 TermsCode:2 Reference:15 VendorStatus:1"
    " HoldPayment:1 TaxpayerIDSocialSecurityNo:9 Comment:30 Sort:10",
    Entity.GL_ACCOUNT: "AccountDesc:50 Account:41 RawAccount:32 MainAccountCode:15 Status:1"
    " AccountType:2 AccountCategory:1 CompanyCode:3",
    Entity.GL_ACCOUNT_GROUP: "AccountGroupDesc:40 AccountCategory:1 AccountType:2 CashFlowsType:1",
    Entity.SALES_ORDER: "OrderType:1 OrderStatus:1 BillToName:50 ShipToCode:4 ShipVia:15"
    " CustomerPONo:30 WarehouseCode:3 TermsCode:2 SalespersonDivisionNo:2 SalespersonNo:4",
}
TEXT_LENGTHS: dict[Entity, dict[str, int]] = {
    entity: {name: int(n) for name, _, n in (pair.partition(":") for pair in spec.split())}
    for entity, spec in _LENGTHS.items()
}
# Any other text column (memo fields, UDFs, detail lines): beyond this, a value is not data
# but a fault or an attack, and it should not travel through Kafka into the audit log.
MAX_TEXT_LENGTH = 65_536


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
        values = SPECS[entity].key_values(key)
        return source_key(dict(values), entity) == key
    except (InvalidRecord, ValueError):
        return False
