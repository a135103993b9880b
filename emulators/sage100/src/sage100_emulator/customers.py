"""AR_Customer table of one company: upserts, deletes and the change feed."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sage100_emulator.clock import parse_hours
from sage100_emulator.columns import AUDIT_COLUMNS, Row, blank_row

# (DateUpdated, float(TimeUpdated), ARDivisionNo + CustomerNo)
SortKey = tuple[str, float, str]
Key = tuple[str, str]


@dataclass(frozen=True)
class WriteStamp:
    """Audit values written on a create or change."""

    date: str
    time: str
    user_key: str


@dataclass(frozen=True)
class ChangePage:
    records: list[Row]
    next_cursor: str | None


class CursorError(ValueError):
    """The client sent a cursor this emulator did not issue."""


def sort_key(row: Row) -> SortKey:
    return (
        str(row["DateUpdated"]),
        parse_hours(str(row["TimeUpdated"])),
        f"{row['ARDivisionNo']}{row['CustomerNo']}",
    )


def encode_cursor(key: SortKey) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> SortKey:
    try:
        padded = text + "=" * (-len(text) % 4)
        date, time, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise CursorError(f"malformed cursor {text!r}") from exc
    if not (isinstance(date, str) and isinstance(time, int | float) and isinstance(key, str)):
        raise CursorError(f"malformed cursor {text!r}")
    return date, float(time), key


def _stamp_created(row: Row, stamp: WriteStamp) -> None:
    row["DateCreated"], row["TimeCreated"], row["UserCreatedKey"] = (
        stamp.date,
        stamp.time,
        stamp.user_key,
    )


def _stamp_updated(row: Row, stamp: WriteStamp) -> None:
    row["DateUpdated"], row["TimeUpdated"], row["UserUpdatedKey"] = (
        stamp.date,
        stamp.time,
        stamp.user_key,
    )


class CustomerTable:
    """Rows keyed by (ARDivisionNo, CustomerNo), i.e. Sage's KPRIMARY."""

    def __init__(self) -> None:
        self._rows: dict[Key, Row] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def primary_keys(self) -> list[Key]:
        return sorted(self._rows)

    def get(self, division: str, customer_no: str) -> Row | None:
        row = self._rows.get((division, customer_no))
        return dict(row) if row is not None else None

    def rows(self) -> list[Row]:
        return [dict(self._rows[key]) for key in self.primary_keys()]

    def upsert(self, patch: Row, stamp: WriteStamp | None) -> Row:
        """Merge `patch` into the row with its key.

        With a stamp (a normal UI/BOI write) audit columns in the patch are
        ignored and the row is stamped if it is new or actually changed.
        Without one (a Visual Integrator style bulk import) nothing is stamped
        and audit columns in the patch are stored as given.
        """
        key = (str(patch["ARDivisionNo"]), str(patch["CustomerNo"]))
        data = {k: v for k, v in patch.items() if stamp is None or k not in AUDIT_COLUMNS}
        existing = self._rows.get(key)
        if existing is None:
            row = blank_row() | data
            if not row["SalespersonDivisionNo"]:
                row["SalespersonDivisionNo"] = row["ARDivisionNo"]
            if stamp is not None:
                _stamp_created(row, stamp)
                _stamp_updated(row, stamp)
        else:
            row = existing | data
            if stamp is not None and row != existing:
                _stamp_updated(row, stamp)
        self._rows[key] = row
        return dict(row)

    def delete(self, division: str, customer_no: str) -> bool:
        return self._rows.pop((division, customer_no), None) is not None

    def changes(
        self,
        since: tuple[str, float] | None,
        after: SortKey | None,
        limit: int,
    ) -> ChangePage:
        """Rows with (DateUpdated, TimeUpdated) >= since, strictly after the cursor."""
        selected = sorted(self._matching(since, after), key=sort_key)
        page = selected[:limit]
        has_more = len(selected) > limit
        cursor = encode_cursor(sort_key(page[-1])) if has_more and page else None
        return ChangePage([dict(row) for row in page], cursor)

    def _matching(self, since: tuple[str, float] | None, after: SortKey | None) -> Iterable[Row]:
        for row in self._rows.values():
            key = sort_key(row)
            if since is not None and (key[0], key[1]) < since:
                continue
            if after is not None and key <= after:
                continue
            yield row
