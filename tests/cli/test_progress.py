"""The progress helper: rate over a recent window, ETA with a total, and the three output modes."""

from __future__ import annotations

import io

from mlc_cli.progress import Progress, human_duration, mode_for

from tests.factories import ManualClock


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rate_and_eta_with_a_known_total() -> None:
    clock, out = ManualClock(100.0), io.StringIO()
    progress = Progress("initial load", total=1000, stream=out, mode="plain", clock=clock)
    clock.now += 4
    progress.update(200)
    assert progress.rate() == 50.0
    assert progress.eta() == 16.0
    text = progress.text()
    assert "initial load: 200/1,000 records (20%)" in text
    assert "50/s" in text and "ETA 16s" in text and "elapsed 4s" in text


def test_rate_forgets_a_slow_start() -> None:
    clock = ManualClock(100.0)
    progress = Progress("replay", stream=io.StringIO(), mode="silent", clock=clock)
    clock.now += 60  # a minute of nothing (a consumer group joining)...
    progress.update(0)
    for _ in range(5):  # ...then 100 per second
        clock.now += 2
        progress.update(progress.done + 200)
    assert progress.rate() == 100.0
    assert progress.eta() is None  # no total, no ETA
    assert "ETA" not in progress.text() and "1,000 records" in progress.text()


def test_plain_mode_prints_at_most_every_few_seconds() -> None:
    clock, out = ManualClock(100.0), io.StringIO()
    progress = Progress("replay", total=10, stream=out, mode="plain", plain_every=5, clock=clock)
    for _ in range(10):
        clock.now += 1
        progress.advance()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # at 1 s and at 6 s
    assert lines[0].startswith("replay: 1/10 records (10%)")
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    progress.finish("replayed 10 events")
    assert out.getvalue().splitlines()[-1] == "replayed 10 events"


def test_terminal_mode_redraws_one_line() -> None:
    clock, out = ManualClock(100.0), TtyStream()
    progress = Progress("load", total=3, stream=out, clock=clock)
    assert progress.mode == "tty"
    for _ in range(3):
        clock.now += 1
        progress.advance()
    progress.finish()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 4 and text.count("\n") == 1
    assert text.endswith("load: 3/3 records (100%)  1/s  elapsed 3s\n")


def test_json_mode_is_silent() -> None:
    out = TtyStream()
    progress = Progress("load", total=3, stream=out, mode=mode_for(out, json_output=True))
    progress.advance()
    progress.finish()
    assert out.getvalue() == ""


def test_durations_read_naturally() -> None:
    assert [human_duration(s) for s in (0.4, 59, 61, 3599, 3661)] == [
        "0s",
        "59s",
        "1m01s",
        "59m59s",
        "1h01m",
    ]
