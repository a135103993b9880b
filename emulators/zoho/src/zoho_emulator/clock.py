"""Epoch clock that tests can move forward (token expiry, throttle windows, faults)."""

from __future__ import annotations

import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, emulated."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds
