"""A table scan kept compact: the rows as BOI returned them (SEP-joined strings), turned into
JSON records only for the page being served. A 100,000-row snapshot then costs about the size of
the raw text instead of 100,000 dictionaries.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SEP = chr(0x8A)
Record = dict[str, Any]


def text_value(raw: str) -> str | dict[str, str]:
    value = raw.rstrip()
    if value.isascii():  # the common case, checked in C: no encode attempt needed
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Undecodable bytes in Sage's file (read with surrogateescape) or a lone UTF-16
        # surrogate from COM: pass them on, marked, so the poller names the field.
        return {"$undecodable_hex": _raw_bytes(value).hex()}
    return value


def _raw_bytes(value: str) -> bytes:
    """The bytes behind a text that is not valid Unicode: surrogateescape gives back the bytes
    of Sage's file; a lone surrogate outside its range (U+D800-U+DBFF, from a broken UTF-16
    string) has no byte of its own, so it is kept as its own code unit's UTF-8-style form."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def number_value(raw: str) -> float | str | dict[str, str]:
    try:
        return float(raw)
    except ValueError:
        return 0.0 if not raw.strip() else text_value(raw)


Plan = list[tuple[str, bool]]  # (record field name, is a text column)


def column_plan(columns: list[str]) -> Plan:
    return [(c[:-1], True) if c.endswith("$") else (c, False) for c in columns]


def to_record(columns: list[str], values: list[str], plan: Plan | None = None) -> Record:
    """Columns as sGetColumns names them: `Name$` is text, `Name` is numeric."""
    plan = column_plan(columns) if plan is None else plan
    return {
        name: text_value(raw) if text else number_value(raw)
        for (name, text), raw in zip(plan, values, strict=False)
    }


@dataclass
class ScanResult:
    columns: list[str]
    rows: list[str]
    line_columns: list[str] = field(default_factory=list)
    lines: dict[str, list[str]] | None = None  # SalesOrderNo -> raw lines in LineSeqNo order
    _plan_cache: Plan = field(default_factory=list, repr=False)
    _plan_for: list[str] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    def record(self, raw: str) -> Record:
        record = to_record(self.columns, raw.split(SEP), self._plan)
        if self.lines is not None:
            order = str(record.get("SalesOrderNo", ""))
            record["Lines"] = [
                to_record(self.line_columns, line.split(SEP)) for line in self.lines.get(order, [])
            ]
        return record

    def fields(self, raw: str, names: tuple[str, ...]) -> dict[str, str]:
        """Only some columns of a raw row (for sorting), as text."""
        values, index = raw.split(SEP), self._index
        found = {n: index[n] for n in names if n in index and index[n] < len(values)}
        return {n: values[found[n]].rstrip() if n in found else "" for n in names}

    @property
    def _plan(self) -> Plan:
        # Not cached: add_primary_flags may extend the columns after the scan.
        if self._plan_for != self.columns:
            self._plan_cache, self._plan_for = column_plan(self.columns), list(self.columns)
        return self._plan_cache

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {c.rstrip("$"): i for i, c in enumerate(self.columns)}

    def records(self) -> Iterator[Record]:
        for raw in self.rows:
            yield self.record(raw)
