"""Pure change-feed logic: order, inclusive filter, pages, cursors, and scan snapshots.

Order is (DateUpdated, TimeUpdated as a number, source_key); `since` is inclusive. A scan is
a full table read (Sage has no index on DateUpdated), so the sorted result is kept for a few
minutes as a snapshot and later pages are served from it; a cursor still carries the last sort
key, so an expired snapshot only costs a rescan, never a skipped or repeated record.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlc_core.entities.sage import SageTable

from sage_agent.scan import ScanResult

SortKey = tuple[str, float, str]
Record = dict[str, Any]


class CursorError(ValueError):
    """A cursor this agent did not issue."""


def hours(value: Any) -> float:
    """TimeUpdated as a number; a damaged value sorts as midnight (the poller reports it)."""
    try:
        return float(str(value).strip() or 0)
    except ValueError:
        return 0.0


def sort_key(spec: SageTable, record: Record) -> SortKey:
    return (
        str(record.get("DateUpdated", "")),
        hours(record.get("TimeUpdated")),
        spec.source_key(record),
    )


def encode_cursor(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> SortKey:
    try:
        date, time_, key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise CursorError(f"malformed cursor {text!r}") from exc
    if not (isinstance(date, str) and isinstance(time_, int | float) and isinstance(key, str)):
        raise CursorError(f"malformed cursor {text!r}")
    return date, float(time_), key


@dataclass
class Snapshot:
    """One scan, sorted; rows stay raw until a page needs them."""

    since: tuple[str, float] | None
    keys: list[SortKey]
    rows: list[str]
    scan: ScanResult
    taken: float = field(default_factory=time.monotonic)


def snapshot(spec: SageTable, scan: ScanResult, since: tuple[str, float] | None) -> Snapshot:
    names = ("DateUpdated", "TimeUpdated", *spec.key_columns)
    keyed: list[tuple[SortKey, str]] = []
    for raw in scan.rows:
        found = scan.fields(raw, names)
        stamp = (found["DateUpdated"], hours(found["TimeUpdated"]))
        # Filter before keying and sorting: an incremental poll keeps a few rows of the table.
        if since is None or stamp >= since:
            keyed.append(((*stamp, spec.source_key(found)), raw))
    keyed.sort(key=lambda pair: pair[0])
    return Snapshot(since, [k for k, _ in keyed], [r for _, r in keyed], scan)


def stamp_listing(
    spec: SageTable, scan: ScanResult, since: tuple[str, float], limit: int
) -> tuple[list[dict[str, str]], bool]:
    """The stamp listing's answer: (key, DateUpdated, TimeUpdated) of each row stamped at or
    after `since`, in feed order, and whether that is every such row (not past `limit` rows:
    the poller then reads the change feed, one scan in pages)."""
    names = ("DateUpdated", "TimeUpdated", *spec.key_columns)
    found: list[tuple[SortKey, str]] = []
    for raw in scan.rows:
        fields = scan.fields(raw, names)
        stamp = (fields["DateUpdated"], hours(fields["TimeUpdated"]))
        if stamp < since:
            continue
        found.append(((*stamp, spec.source_key(fields)), fields["TimeUpdated"]))
        if len(found) > limit:
            return [], False
    found.sort(key=lambda pair: pair[0])
    return [{"key": k, "date": d, "time": t} for (d, _, k), t in found], True


def key_snapshot(spec: SageTable, scan: ScanResult) -> Snapshot:
    """The key listing's snapshot: rows ordered by source_key alone (the stamp parts of the
    sort key stay empty), so `page` and its cursors serve the key set in bounded pages."""
    keyed = [
        (("", 0.0, spec.source_key(scan.fields(raw, spec.key_columns))), raw) for raw in scan.rows
    ]
    keyed.sort(key=lambda pair: pair[0])
    return Snapshot(None, [k for k, _ in keyed], [r for _, r in keyed], scan)


def page(snap: Snapshot, after: SortKey | None, limit: int) -> tuple[list[Record], str | None]:
    start = bisect.bisect_right(snap.keys, after) if after is not None else 0
    chosen = [snap.scan.record(raw) for raw in snap.rows[start : start + limit]]
    more = start + limit < len(snap.rows)
    return chosen, encode_cursor(snap.keys[start + limit - 1]) if more and chosen else None


# A change-feed page stops at this much JSON (the first record always goes, whatever its size):
# the poller then holds at most about this per tenant for the page it plans and the one it
# prefetches, however wide the table or long its memo fields. The record limit alone would let
# 2000 sales orders with long comment lines make one page of hundreds of MB.
DEFAULT_PAGE_BYTES = 8 * 1024 * 1024


def page_json(
    snap: Snapshot,
    after: SortKey | None,
    limit: int,
    max_bytes: int = DEFAULT_PAGE_BYTES,
    *,
    shape: Callable[[Record], Record] = lambda record: record,
) -> tuple[list[str], str | None]:
    """A page as its records' JSON texts (ASCII escapes), at most `limit` records and, past
    the first, at most `max_bytes` of JSON; with the cursor when more follow. `shape` is what
    leaves the server of each record (its sensitive columns withheld)."""
    start = bisect.bisect_right(snap.keys, after) if after is not None else 0
    parts: list[str] = []
    size = 0
    for raw in snap.rows[start : start + limit]:
        text = json.dumps(shape(snap.scan.record(raw)), ensure_ascii=True)
        if parts and size + len(text) > max_bytes:
            break
        parts.append(text)
        size += len(text) + 1
    end = start + len(parts)
    more = end < len(snap.rows)
    return parts, encode_cursor(snap.keys[end - 1]) if more and parts else None


class SnapshotCache:
    """Recent scans, one per (company, entity): a new poll replaces the last one's; bounded in
    count and age, so the agent's memory stays near one table's raw text per entity."""

    def __init__(self, *, ttl_seconds: float, max_entries: int) -> None:
        self._ttl, self._max = ttl_seconds, max_entries
        self._entries: dict[tuple[str, str, Any], Snapshot] = {}

    def get(self, key: tuple[str, str, Any]) -> Snapshot | None:
        snap = self._entries.get(key)
        if snap is not None and time.monotonic() - snap.taken > self._ttl:
            del self._entries[key]
            return None
        return snap

    def put(self, key: tuple[str, str, Any], snap: Snapshot) -> None:
        while len(self._entries) >= self._max:
            oldest = min(self._entries, key=lambda k: self._entries[k].taken)
            del self._entries[oldest]
        self._entries[key] = snap
