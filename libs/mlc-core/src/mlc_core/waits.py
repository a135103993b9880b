"""Time spent waiting on one external system, overlapping waits counted once.

A writer's share of a batch waits on its tenant's Zoho org (its call slots, its token, Zoho's
answers, the retries); a poll waits on the tenant's Sage agent. Either also spends time on
what every tenant shares (PostgreSQL, this process's CPU, other tenants' work on the event
loop), which says nothing of that system. `WaitClock` counts only the first: each call to the
system is wrapped in `waiting()`, and calls side by side count once. The writer's batch wait
is measured on it (zoho_writer/share.py); a poll's time on Sage is kept in poller_status.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass
class WaitClock:
    """Seconds waited on one system: counted while at least one `waiting()` block is open."""

    now: Callable[[], float] = time.monotonic
    # Called when a wait begins or ends (the writer moves a share's deadline on it).
    on_change: Callable[[], None] | None = None
    _spent: float = 0.0
    _since: float = 0.0
    _open: int = 0

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        self._open += 1
        if self._open == 1:
            self._since = self.now()
            self._changed()
        try:
            yield
        finally:
            self._open -= 1
            if self._open == 0:
                self._spent += self.now() - self._since
                self._changed()

    def reaches(self, limit: float) -> float | None:
        """When (on `now`'s clock) the time waited reaches `limit` if the wait under way goes
        on; None while nothing waits (the time waited is not growing)."""
        return self._since + (limit - self._spent) if self._open else None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def spent(self) -> float:
        """Seconds waited so far, the wait under way included."""
        return self._spent + (self.now() - self._since if self._open else 0.0)
