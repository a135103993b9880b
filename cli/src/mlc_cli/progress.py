"""Progress of a long operation (initial load, replay): count, rate, and ETA when the total is
known.

Three ways to show it, chosen once from where the output goes: on a terminal one line redrawn
in place; into a file or pipe (CI logs, `| tee`) a plain line at most every few seconds, so a
log stays readable; with --json nothing at all, so stdout stays one JSON document.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TextIO

Mode = Literal["tty", "plain", "silent"]
Clock = Callable[[], float]
# The rate is measured over the last few samples rather than since the start, so that a slow
# start (a consumer group joining) or a pause does not skew the ETA for the rest of the run.
WINDOW_SECONDS = 10.0


def mode_for(stream: TextIO, *, json_output: bool = False) -> Mode:
    if json_output:
        return "silent"
    return "tty" if stream.isatty() else "plain"


def human_count(value: float) -> str:
    return f"{value:,.0f}"


def human_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass
class Progress:
    """Feed it the running count with update(); it decides when and how to show it."""

    label: str
    total: int | None = None
    unit: str = "records"
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    mode: Mode | None = None
    plain_every: float = 5.0
    window: float = WINDOW_SECONDS
    clock: Clock = time.monotonic
    done: int = 0
    _samples: list[tuple[float, int]] = field(default_factory=list)
    _started: float = 0.0
    _shown_at: float | None = None

    def __post_init__(self) -> None:
        self.mode = self.mode or mode_for(self.stream)
        self._started = self.clock()
        self._samples.append((self._started, 0))

    def update(self, done: int) -> None:
        now = self.clock()
        self.done = done
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.pop(0)
        self._show(now)

    def advance(self, by: int = 1) -> None:
        self.update(self.done + by)

    def rate(self) -> float:
        """Per second, over the recent window."""
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def eta(self) -> float | None:
        rate = self.rate()
        if self.total is None or rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def elapsed(self) -> float:
        return self.clock() - self._started

    def text(self) -> str:
        count = human_count(self.done)
        if self.total is not None:
            percent = 100.0 * self.done / self.total if self.total else 100.0
            count = f"{count}/{human_count(self.total)} {self.unit} ({percent:.0f}%)"
        else:
            count = f"{count} {self.unit}"
        parts = [f"{self.label}: {count}", f"{self.rate():,.0f}/s"]
        eta = self.eta()
        if eta is not None and self.done < (self.total or 0):
            parts.append(f"ETA {human_duration(eta)}")
        parts.append(f"elapsed {human_duration(self.elapsed())}")
        return "  ".join(parts)

    def finish(self, summary: str | None = None) -> None:
        """The last word, always shown (except in JSON mode), ending the redrawn line."""
        if self.mode == "silent":
            return
        line = summary or self.text()
        prefix = "\r\x1b[K" if self.mode == "tty" else ""
        self.stream.write(f"{prefix}{line}\n")
        self.stream.flush()

    def _show(self, now: float) -> None:
        if self.mode == "silent":
            return
        if self.mode == "tty":
            self.stream.write(f"\r\x1b[K{self.text()}")
        elif self._shown_at is None or now - self._shown_at >= self.plain_every:
            self.stream.write(self.text() + "\n")
        else:
            return
        self._shown_at = now
        self.stream.flush()
