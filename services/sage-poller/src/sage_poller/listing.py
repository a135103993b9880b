"""Which records an incremental poll reads in full, from the agent's stamp listing (pure).

An incremental poll first asks the agent for the key and stamps of every row changed since
the watermark minus the overlap: one narrow Sage listing. A row whose (key, stamp) is what we
last emitted was read before (sage100.md §4 recommends deduping on key, DateUpdated and
TimeUpdated); only the others are read, by key. Rows stamped at the watermark itself are read
again while that stamp is recent (within the overlap of the poller's clock, in Sage's zone): a
second save within the same stamp (a coarse clock, a batch) changes content under a stamp we
already hold, and only the content shows it; once Sage's clock has left that stamp behind no
such save can follow. A poll that finds nothing new thus costs Sage one listing (plus, for a
stamp that recent, a read by key of the rows sharing it) and the pipeline nothing. Content
changed without a new stamp further back (an import) is what the key reconciliation's
content hashes find.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo

from sage_poller.service import Known, Stamp

# More new or changed rows than this and the poll reads the change feed, one scan in pages,
# rather than one read by key each: a burst (an import, the day's first poll) stays one scan.
MAX_KEYED_READS = 200
# Rows the listing may hold (the agent's maximum); past it the poll reads the change feed.
MAX_LISTED = 50_000
# Reads by key in flight at once: each holds one of the agent's BOI sessions.
KEYED_READ_CONCURRENCY = 4


def own_stamp(version: str) -> str:
    """The record's own stamp in a stored version ('<last>+<own>' after Sage's clock went
    back, service.next_version)."""
    return version.rpartition("+")[2]


def listed_stamp(date: str, time_text: str) -> Stamp | None:
    """A listed stamp; None when it is not one (the record is read in full, and planning it
    reports the bad field)."""
    try:
        return Stamp(date, float(time_text.strip()))
    except ValueError:
        return None


def reread_from(watermark: Stamp, now_in_sage_zone: datetime, overlap_seconds: float) -> Stamp:
    """From which stamp rows are read again whatever their stamp: the watermark while it is
    within the overlap of now, else never (a stamp past any listed one)."""
    settled = watermark < Stamp.from_datetime(now_in_sage_zone).minus(overlap_seconds)
    return NEVER if settled else watermark


NEVER = Stamp("99991231", 0.0)


def listing_since(
    since: Stamp,
    watermark: Stamp,
    previous_start: datetime | None,
    *,
    sage_zone: tzinfo,
    overlap_seconds: float,
) -> Stamp:
    """Where the stamp listing starts. `since` (watermark minus overlap) assumes nothing about
    earlier polls; but a row stamped more than the overlap before the previous successful
    listing of this entity began was visible to that listing (the overlap is how late a row
    may show up after its stamp) and was read then. So the listing starts there instead,
    never past the watermark (a row at it may still get a same-stamp second save), and a
    table whose newest rows came in one burst is not listed whole on every idle poll."""
    if previous_start is None:
        return since
    local = previous_start.astimezone(sage_zone).replace(tzinfo=None)
    seen = Stamp.from_datetime(local).minus(overlap_seconds)
    return max(since, min(seen, watermark))


def keys_to_read(
    listing: Iterable[tuple[str, str, str]], known: Mapping[str, Known], reread: Stamp
) -> list[str]:
    """Keys, in listing order, never emitted, emitted with another stamp, or stamped at or
    after `reread`."""
    wanted = []
    for key, date, time_text in listing:
        seen, stamp = known.get(key), listed_stamp(date, time_text)
        if (
            seen is None
            or stamp is None
            or stamp >= reread
            or own_stamp(seen.version) != stamp.version
        ):
            wanted.append(key)
    return wanted


def listing_window(
    watermark: Stamp,
    since: Stamp,
    *,
    now: datetime,
    sage_zone: tzinfo,
    overlap_seconds: float,
    previous_start: datetime | None,
) -> tuple[Stamp, Stamp]:
    """(where the stamp listing starts, from which stamp listed rows are read again)."""
    start = listing_since(
        since, watermark, previous_start, sage_zone=sage_zone, overlap_seconds=overlap_seconds
    )
    local_now = now.astimezone(sage_zone).replace(tzinfo=None)
    return start, reread_from(watermark, local_now, overlap_seconds)
