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
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Undecodable bytes in Sage's file: pass them on, marked, so the poller names the field.
        return {"$undecodable_hex": value.encode("utf-8", "surrogateescape").hex()}
    return value


def to_record(columns: list[str], values: list[str]) -> Record:
    """Columns as sGetColumns names them: `Name$` is text, `Name` is numeric."""
    record: Record = {}
    for column, raw in zip(columns, values, strict=False):
        if column.endswith("$"):
            record[column[:-1]] = text_value(raw)
        else:
            try:
                record[column] = float(raw) if raw.strip() else 0.0
            except ValueError:
                record[column] = text_value(raw)
    return record


@dataclass
class ScanResult:
    columns: list[str]
    rows: list[str]
    line_columns: list[str] = field(default_factory=list)
    lines: dict[str, list[str]] | None = None  # SalesOrderNo -> raw lines in LineSeqNo order

    def __len__(self) -> int:
        return len(self.rows)

    def record(self, raw: str) -> Record:
        record = to_record(self.columns, raw.split(SEP))
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

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {c.rstrip("$"): i for i, c in enumerate(self.columns)}

    def records(self) -> Iterator[Record]:
        for raw in self.rows:
            yield self.record(raw)
