"""Change-feed plumbing shared by every table: sort keys, cursors, write stamps."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from sage100_emulator.clock import parse_hours
from sage100_emulator.columns import Row

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
