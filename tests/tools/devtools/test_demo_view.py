"""The demo's live view from given counts: plain lines off a terminal, an in-place redraw on
one, the initial load's progress and when it is done."""

from __future__ import annotations

import io

from mlc_devtools.demo_view import DemoView, EntityCounts, counts_from_metrics, counts_table

from tests.factories import ManualClock


def counts(customers_written: int, contacts_written: int) -> dict[str, EntityCounts]:
    return {
        "ar_customer": EntityCounts(100, 100, customers_written, 0, 0, customers_written),
        "customer_contact": EntityCounts(150, 150, contacts_written, 0, 2, contacts_written + 2),
    }


def view(tty: bool, clock: ManualClock) -> tuple[DemoView, io.StringIO]:
    out = io.StringIO()
    expected = {"ar_customer": 100, "customer_contact": 150}
    return DemoView("demo", expected, out, clock, tty), out


def test_plain_view_prints_a_block_per_refresh_and_notices_the_end_of_the_load() -> None:
    clock = ManualClock(100.0)
    demo, out = view(False, clock)
    clock.now += 5
    demo.update(counts(50, 0), "live changes: 0")
    clock.now += 5
    demo.update(counts(100, 148), "live changes: 0")
    lines = out.getvalue().splitlines()
    # settled: 50 customers written, 2 contacts failed
    assert lines[0] == "tenant demo  initial load: 52/250 records (21%)  10/s  ETA 19s  elapsed 5s"
    assert lines[1].split() == [
        "ar_customer",
        "polled=100",
        "mapped=100",
        "written=50",
        "unchanged=0",
        "failed=0",
        "written/s=10.0",
    ]
    assert lines[3] == "live changes: 0"
    assert lines[4] == "tenant demo  initial load done in 10s; live changes flowing for 0s"
    assert "written=148" in lines[6] and "failed=2" in lines[6]
    assert "\x1b" not in out.getvalue()
    assert demo.loaded_after == 10 and demo.live_for() == 0
    clock.now += 7
    assert demo.live_for() == 7


def test_terminal_view_redraws_the_previous_frame_in_place() -> None:
    clock = ManualClock(100.0)
    demo, out = view(True, clock)
    demo.update(counts(0, 0))
    first = out.getvalue()
    frame_lines = first.count("\n")
    assert "WRITTEN/S" in first and "\x1b" not in first
    demo.update(counts(10, 0))
    second = out.getvalue()[len(first) :]
    assert second.startswith(f"\x1b[{frame_lines}F\x1b[J")
    assert demo.loaded_after is None


def test_summary_table_totals_each_stage() -> None:
    text = counts_table(counts(100, 148))
    total = text.splitlines()[-1].split()
    assert total == ["total", "250", "250", "248", "0", "2"]


def test_counts_from_the_services_counters() -> None:
    records = {
        ("sage-poller", "ar_customer", "polled"): 10,
        ("sage-poller", "ar_customer", "sage.record.deleted"): 1,
        ("mapper", "ar_customer", "mapped"): 9,
        ("mapper", "ar_customer", "dead_lettered"): 1,
        ("zoho-writer", "ar_customer", "written"): 6,
        ("zoho-writer", "ar_customer", "skipped_unchanged"): 1,
        ("zoho-writer", "ar_customer", "failed"): 2,
        ("zoho-writer", "ar_customer", "dead_lettered"): 2,  # repeats the failed outcomes
        ("zoho-writer", "ar_customer", "deferred"): 3,  # not final: in no column
        ("sage-poller", "", "sage.poll.attempt"): 4,  # not about a record
    }
    counts = counts_from_metrics(records, {"ar_customer": 9, "ap_vendor": 0})
    assert counts == {
        "ap_vendor": EntityCounts(settled=0),
        "ar_customer": EntityCounts(
            polled=11, mapped=9, written=6, unchanged=1, failed=3, settled=9
        ),
    }
