"""Which records an incremental poll reads in full, from the agent's stamp listing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sage_poller.listing import NEVER, keys_to_read, listing_since, own_stamp, reread_from
from sage_poller.service import Known, Stamp

SEEN = Known(Stamp("20261201", 9.5).version, b"digest")
WATERMARK = Stamp("20261201", 12.0)


def test_only_new_keys_and_new_stamps_are_read() -> None:
    listing = [
        ("01-A", "20261201", "9.50000"),  # what we emitted: skipped
        ("01-B", "20261201", "9.75000"),  # never emitted
        ("01-C", "20261201", "10.00000"),  # emitted with an older stamp
    ]
    known = {"01-A": SEEN, "01-C": SEEN}
    assert keys_to_read(listing, known, WATERMARK) == ["01-B", "01-C"]


def test_a_stamp_written_as_other_text_is_the_same_stamp() -> None:
    assert keys_to_read([("01-A", "20261201", " 9.5")], {"01-A": SEEN}, WATERMARK) == []


def test_a_regressed_clock_version_compares_on_the_record_own_stamp() -> None:
    version = f"{Stamp('20261201', 11.0).version}+{Stamp('20261201', 10.5).version}"
    assert own_stamp(version) == Stamp("20261201", 10.5).version
    known = {"01-A": Known(version, b"d")}
    assert keys_to_read([("01-A", "20261201", "10.5")], known, WATERMARK) == []
    assert keys_to_read([("01-A", "20261201", "10.6")], known, WATERMARK) == ["01-A"]


def test_an_unreadable_stamp_is_read_in_full_for_planning_to_report() -> None:
    assert keys_to_read([("01-A", "20261201", "noon")], {"01-A": SEEN}, WATERMARK) == ["01-A"]


def test_rows_at_the_watermark_are_read_again_for_a_same_stamp_second_save() -> None:
    at_mark = Known(WATERMARK.version, b"d")
    listing = [("01-A", "20261201", "12.0"), ("01-B", "20261201", "11.0")]
    known = {"01-A": at_mark, "01-B": Known(Stamp("20261201", 11.0).version, b"d")}
    assert keys_to_read(listing, known, WATERMARK) == ["01-A"]


def test_rows_at_the_watermark_are_read_again_only_while_it_is_recent() -> None:
    now = dt.datetime(2026, 12, 1, 12, 1, 0)  # 60 s after the watermark
    assert reread_from(WATERMARK, now, overlap_seconds=120) == WATERMARK
    assert reread_from(WATERMARK, now + dt.timedelta(seconds=61), overlap_seconds=120) == NEVER
    at_mark = {"01-A": Known(WATERMARK.version, b"d")}
    assert keys_to_read([("01-A", "20261201", "12.0")], at_mark, NEVER) == []


def test_the_listing_starts_where_the_previous_listing_had_seen_everything() -> None:
    zone, since = ZoneInfo("America/Chicago"), WATERMARK.minus(120)
    start = dt.datetime(2026, 12, 1, 18, 1, 0, tzinfo=dt.UTC)  # 12:01 in Chicago
    assert listing_since(since, WATERMARK, None, sage_zone=zone, overlap_seconds=120) == since
    # That listing began 60 s after the watermark: rows up to 11:59 were visible to it.
    got = listing_since(since, WATERMARK, start, sage_zone=zone, overlap_seconds=120)
    assert got == Stamp("20261201", 11 + 59 / 60)
    later = start + dt.timedelta(minutes=10)  # never past the watermark itself
    assert listing_since(since, WATERMARK, later, sage_zone=zone, overlap_seconds=120) == WATERMARK
    earlier = start - dt.timedelta(minutes=10)  # never before the overlap's start
    assert listing_since(since, WATERMARK, earlier, sage_zone=zone, overlap_seconds=120) == since
