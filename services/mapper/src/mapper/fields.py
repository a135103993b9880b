"""What an entity's default mapping is made of: the Zoho fields it writes, each with the Sage
column(s) it reads, and what a document computes once per row for several fields.

An entity's `RecordMapping` lives with the entity (mapper.masters, mapper.orders,
mapper.reference); mapper.engine compiles it with a tenant's overrides and runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlc_core.contracts import ZohoLookup

from mapper import values as v
from mapper.drafts import Draft
from mapper.values import Row

Reader = Callable[[Row], Any]
# (row, Sage key, what the mapping's `prepare` computed for the row)
Derive = Callable[[Row, str, "Prepared"], Any]
Links = Callable[[Row, str, "Prepared"], list[ZohoLookup]]
Prepare = Callable[[Row, str], "Prepared"]


@dataclass(frozen=True)
class Prepared:
    """What a document computes once per row for several of its fields and its links: its
    line items and the totals over them, the records to upsert before it (products)."""

    values: dict[str, Any] = field(default_factory=dict)
    before: list[Draft] = field(default_factory=list)
    links: list[ZohoLookup] = field(default_factory=list)
    also_match: list[str] = field(default_factory=list)
    after: list[Draft] = field(default_factory=list)  # records updated after it (its deal)
    warnings: list[str] = field(default_factory=list)


NOTHING_PREPARED = Prepared()


@dataclass(frozen=True)
class Field:
    """One Zoho field of an entity's default mapping. `source` names the Sage column(s) in
    errors. Its value is one of: plain text from `column` (read inline by the engine), the
    Sage key (`key`), an amount from `column` (`amount`), `read(row)`, or `derive(row, key,
    prepared)`."""

    name: str
    source: str | None
    column: str | None = None
    read: Reader | None = None
    derive: Derive | None = None
    required: bool = False
    key: bool = False
    amount: bool = False
    text_value: bool = True  # False: the value is never text (numbers, flags, line items)
    # Sent as null when its Sage column(s) are in the row but blank, so a value cleared in
    # Sage is cleared in Zoho; False: an empty value is left out and Zoho keeps its own.
    clears: bool = True

    def columns(self) -> tuple[str, ...]:
        """The Sage columns the value is read from (none: a key, a total, a constant)."""
        if self.column is not None:
            return (self.column,)
        return () if self.source is None else tuple(self.source.split("+"))


def text(name: str, column: str, *, required: bool = False) -> Field:
    return Field(name, column, column=column, required=required)


def key(name: str) -> Field:
    # No Sage column to name: a key too long for the field is reported under the field.
    return Field(name, None, key=True)


def computed(name: str, source: str | None, read: Reader, *, text_value: bool = True) -> Field:
    return Field(name, source, read=read, text_value=text_value)


def column(
    name: str, convert: Callable[..., Any], column_name: str, *, text_value: bool = True
) -> Field:
    """A value `convert(row, column_name)` (flag, date, country, ...)."""
    return Field(name, column_name, read=bound(convert, column_name), text_value=text_value)


def money(name: str, column_name: str) -> Field:
    """A currency amount (values.money), read inline by the engine for plain numbers."""
    return Field(name, column_name, column=column_name, amount=True, text_value=False)


def derived(name: str, source: str | None, derive: Derive, *, text_value: bool = True) -> Field:
    return Field(name, source, derive=derive, text_value=text_value)


def prepared(name: str, source: str | None = None, *, text_value: bool = False) -> Field:
    """The value `prepare` computed under `name` (a total, the line items, the account key)."""
    return derived(
        name, source, lambda row, key, found: found.values.get(name), text_value=text_value
    )


def bound(convert: Callable[..., Any], *args: Any) -> Reader:
    """`convert(row, *args)` as a reader of the row: a closure, cheaper to call than a partial
    with keywords (a reader runs for every record)."""
    if len(args) == 1:
        (first,) = args
        return lambda row: convert(row, first)
    if len(args) == 2:
        first, second = args
        return lambda row: convert(row, first, second)
    return lambda row: convert(row, *args)


def sage_key(row: Row, key: str, found: Prepared) -> str:
    return key


def no_links(row: Row, key: str, found: Prepared) -> list[ZohoLookup]:
    return []


@dataclass(frozen=True)
class RecordMapping:
    """An entity's default mapping to one Zoho record, before a tenant's overrides.

    `prepare` (documents) runs first, once per row; `links` are the record's lookups;
    `key_field` is the upsert key when it is not the module's usual one."""

    module: str
    fields: tuple[Field, ...]
    links: Links = no_links
    prepare: Prepare | None = None
    key_field: str | None = None

    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


def address(prefix: str, sage: str, zip_suffix: str = "Code") -> tuple[Field, ...]:
    """A Zoho address from Sage's `{sage}AddressLine1-3`, `{sage}City`, ... columns (a
    customer's own: sage=""; a document's: "BillTo"/"ShipTo", whose lines are `Address1-3`)."""
    lines = "Address" if sage else "AddressLine"
    columns = tuple(f"{sage}{lines}{n}" for n in (1, 2, 3))
    return (
        computed(f"{prefix}_Street", "+".join(columns), street_reader(columns)),
        text(f"{prefix}_City", f"{sage}City"),
        text(f"{prefix}_State", f"{sage}State"),
        text(f"{prefix}_{zip_suffix}", f"{sage}ZipCode"),
        computed(f"{prefix}_Country", f"{sage}CountryCode", country_reader(f"{sage}CountryCode")),
    )


# One reader object per column set: the engine copies a repeated reader's value
# (a customer's shipping address is its billing address).
_STREETS: dict[tuple[str, ...], Reader] = {}
_COUNTRIES: dict[str, Reader] = {}


def street_reader(columns: tuple[str, ...]) -> Reader:
    if columns not in _STREETS:
        _STREETS[columns] = bound(v.street, *columns)
    return _STREETS[columns]


def country_reader(column_name: str) -> Reader:
    if column_name not in _COUNTRIES:
        _COUNTRIES[column_name] = bound(v.country, column_name)
    return _COUNTRIES[column_name]
