"""Supervised loops: a named loop (one per tenant, a drain) that outlives its own crashes.

A service runs long-lived loops next to its consumer: one poll loop per tenant, the writer's
drain of parked commands. A crash in one iteration (PostgreSQL restarting, a bug hit by one
tenant's data) must neither end the loop for good while the process lives on, nor stop the
other loops. `Supervisor` runs each loop as repeated iterations: an iteration that raises is
logged with the loop's name (and tenant), and the loop starts again after a jittered, capped
backoff; a successful iteration resets the backoff and is recorded, so a liveness check can
see a loop that stopped making progress. Cancellation and the stop event end it cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mlc_core.logging import ctx
from mlc_core.runtime import sleep_or_stop

log = logging.getLogger(__name__)

# One iteration of a loop; returns how long to wait (seconds) before the next one.
Iteration = Callable[[], Awaitable[float]]


@dataclass(frozen=True)
class RestartBackoff:
    """Wait before restarting a loop after its `crashes`-th consecutive crash.

    The first restart comes after about `base` seconds: long enough that a loop crashing on
    every pass (the database is down) does not spin and flood the log, short enough that a
    one-off crash costs almost nothing. Each further crash doubles the wait up to `cap`, which
    bounds how late a loop notices that its dependency is back. The wait is jittered between
    half and all of that ("equal jitter"), so loops that crashed together (every tenant's loop
    when PostgreSQL restarts) come back spread out instead of all at once, and never with no
    wait at all.
    """

    base: float = 1.0
    cap: float = 60.0

    def ceiling(self, crashes: int) -> float:
        # The exponent stops growing once the cap is reached; large crash counts cannot overflow.
        return min(self.cap, self.base * 2.0 ** min(max(crashes - 1, 0), 32))

    def delay(self, crashes: int) -> float:
        top = self.ceiling(crashes)
        return random.uniform(top / 2, top)


@dataclass
class LoopHealth:
    """What a liveness check needs to know about one loop."""

    name: str
    started_at: float = field(default_factory=time.monotonic)
    last_ok: float | None = None  # monotonic time of the last successful iteration
    crashes: int = 0  # consecutive crashes since the last success
    restarts: int = 0  # crashes since the loop started, for metrics and tests

    last_beat: float | None = None  # progress inside a long iteration (a poll's page)

    def beat(self) -> None:
        """A long iteration got somewhere: not stalled, though not finished."""
        self.last_beat = time.monotonic()

    def idle_for(self, now: float) -> float:
        """Seconds since the last success or beat (or since the start, before either)."""
        marks = [m for m in (self.last_ok, self.last_beat) if m is not None]
        return now - max(marks, default=self.started_at)


async def run_supervised(
    name: str,
    iteration: Iteration,
    *,
    stop: asyncio.Event,
    backoff: RestartBackoff,
    health: LoopHealth | None = None,
    labels: dict[str, str] | None = None,
) -> None:
    """Run `iteration` until `stop` is set (or the task is cancelled), restarting it after a
    crash. `labels` (tenant, loop) go on each crash's log line; they must name things, never
    hold secrets. Cancellation is not a crash: it propagates and the loop ends."""
    health = health or LoopHealth(name)
    while not stop.is_set():
        try:
            wait = await iteration()
        except Exception as exc:  # any crash: the loop must survive it, and say so
            health.crashes += 1
            health.restarts += 1
            delay = backoff.delay(health.crashes)
            log.exception(
                "loop %s crashed; restarting in %.1f s",
                name,
                delay,
                extra=ctx(
                    loop=name, crashes=health.crashes, error=type(exc).__name__, **labels or {}
                ),
            )
            await sleep_or_stop(stop, delay)
            continue
        health.crashes = 0
        health.last_ok = time.monotonic()
        await sleep_or_stop(stop, wait)


class Supervisor:
    """A set of named supervised loops sharing one stop event and one restart backoff."""

    def __init__(self, *, stop: asyncio.Event, backoff: RestartBackoff) -> None:
        self._stop = stop
        self._backoff = backoff
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.health: dict[str, LoopHealth] = {}

    @property
    def names(self) -> set[str]:
        return set(self._tasks)

    def start(self, name: str, iteration: Iteration, *, labels: dict[str, str]) -> None:
        """Start the loop `name` (a running loop of that name is left alone)."""
        if name in self._tasks:
            return
        health = self.health[name] = LoopHealth(name)
        self._tasks[name] = asyncio.create_task(
            run_supervised(
                name,
                iteration,
                stop=self._stop,
                backoff=self._backoff,
                health=health,
                labels=labels,
            ),
            name=name,
        )

    def cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        self.health.pop(name, None)
        if task is not None:
            task.cancel()

    def stalled(self, *, longer_than: float, now: float | None = None) -> list[str]:
        """Loops without a successful iteration for `longer_than` seconds (liveness)."""
        now = time.monotonic() if now is None else now
        return sorted(n for n, h in self.health.items() if h.idle_for(now) > longer_than)

    async def wait(self) -> None:
        """Wait for every loop to end (after the stop event, or cancellation)."""
        tasks = list(self._tasks.values())
        await asyncio.gather(*tasks, return_exceptions=True)
