"""Pacing of bulk pages: a long poll's later pages wait while the pipeline is backed up.

Kafka delivers a partition in order, and every tenant's events share the partitions: an
initial load of 200,000 rows emitted as fast as the poller reads them sat in front of every
other tenant's edits in the mapper's and writer's partitions, and the healthy tenants' change
latency grew from 4 s to 20 s and more (docs/chaos.md, the noisy neighbour). So a poll's
first slice of PACED_SLICE records always goes at once (an ordinary poll is one slice, or a
short listing), and every later slice waits until the events waiting for the mapper and the
writer (their consumer groups' lag) are fewer than a bound. The load then runs at the pace of
the slowest stage, which is as fast as it could go anyway, and another tenant's edit waits
behind at most about the bound plus one slice of it.

The bound is time, not a count, when `seconds` is set: what another tenant's edit waits is the
backlog ahead of it over the pace the mapper and the writer work at, so the bound is that many
seconds of their measured pace (their committed offsets over the last RATE_SPAN_S), between
`min_backlog` and `max_backlog` (the depth past which a load runs no faster). A count fixed for
one machine's pace was either shallow where the pipeline is fast (an initial load alone at
300 ms Zoho latency: 2,000 events held the writer's batches to a call or two per wave of Zoho's
10; 947 records/s against 1,171 at 6,000) or deep where it is slow (beside 1,000 polling
tenants on 2 cores, 6,000 took the writer's stage for their edits from p90 4.1 s, max 8.2 s at
2,000 to p90 7.9 s, max 12.9 s). The same idea as CoDel's bound on a queue's standing delay.

Pacing never stops a poll. Reading the lag failing (Kafka restarting, the poller's principal
without Describe on the groups) lets the page go, logged once per failure streak; a group
with no member is not waited for (mlc_core.lag); and a page waits at most `max_wait_s`, so a
stuck consumer is what `mlc status` and liveness report, not a poller that stopped too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from mlc_core.contracts import Topics
from mlc_core.lag import PIPELINE_GROUPS, Progress
from mlc_core.logging import ctx

log = logging.getLogger(__name__)


# Records per paced step. The poller is one event loop for every tenant: planning a step is
# CPU without an await (about 1 ms a record here), so a step of 2,000 held every other
# tenant's poll for a second or more at each of its awaits; 200 keeps each hold near 0.2 s,
# for one PostgreSQL commit and one Kafka ack wait more per 200 records of a bulk poll.
PACED_SLICE = 200
# The pipeline's pace is read over this span: the writer commits once a batch is written (1-5 s
# apart under a load), so a shorter span sees its commits as bursts and pauses.
RATE_SPAN_S = 10.0
# The bound never falls below five slices, so a load whose pipeline has just started (no pace
# measured yet, or a pace of nothing while it was idle) still has work in flight to pace it by.
MIN_PACED_BACKLOG = 5 * PACED_SLICE
REPORT_EVERY_S = 10.0


class BacklogReader(Protocol):
    async def active_progress(self, groups: Mapping[str, Topics | None]) -> Progress: ...


class Pace:
    """The groups' events done per second over the last `span_s` of readings."""

    def __init__(self, *, span_s: float = RATE_SPAN_S) -> None:
        self.span_s = span_s
        self._readings: deque[tuple[float, int]] = deque()

    def add(self, at: float, done: int) -> None:
        if self._readings and done < self._readings[-1][1]:
            self._readings.clear()  # offsets moved back (a replay's reset): a new history
        self._readings.append((at, done))
        while at - self._readings[0][0] > self.span_s:
            self._readings.popleft()

    def per_second(self) -> float | None:
        """None until the readings span half of `span_s`."""
        if len(self._readings) < 2:
            return None
        (first_at, first), (last_at, last) = self._readings[0], self._readings[-1]
        if last_at - first_at < self.span_s / 2:
            return None
        return (last - first) / (last_at - first_at)


def paced_bound(per_second: float | None, *, seconds: float, floor: int, cap: int) -> int:
    """The backlog below which a page goes: `seconds` of the pipeline's pace, within
    [floor, cap]; the floor while the pace is not known."""
    if per_second is None:
        return min(floor, cap)
    return max(min(floor, cap), min(cap, int(per_second * seconds)))


Beat = Callable[[], Awaitable[None]]


class Pacer:
    """Admits bulk pages; one lag reading every `check_every_s` serves every tenant's loop."""

    def __init__(
        self,
        reader: BacklogReader,
        *,
        max_backlog: int,
        seconds: float | None = None,
        min_backlog: int = MIN_PACED_BACKLOG,
        check_every_s: float = 0.5,
        max_wait_s: float = 60.0,
        groups: Mapping[str, Topics | None] = PIPELINE_GROUPS,
    ) -> None:
        self._reader, self._groups = reader, groups
        self.max_backlog, self.min_backlog, self.seconds = max_backlog, min_backlog, seconds
        self.pace = Pace()
        self.check_every_s = check_every_s
        self.max_wait_s = max_wait_s
        self._lock = asyncio.Lock()
        self._read_at = -float("inf")
        self._backlog: int | None = None
        self._failing = False
        self.waiting = 0  # pages waiting now (tests and logs)
        self._reported_at = -float("inf")

    async def admit(self, *, tenant_id: str, beat: Beat | None = None) -> float:
        """Returns once the page may go; how long it waited (seconds). Every reading it acts on
        was taken after the call began, so it counts the pages the caller had sent."""
        self.waiting += 1
        try:
            return await self._admit(tenant_id, beat)
        finally:
            self.waiting -= 1

    async def _admit(self, tenant_id: str, beat: Beat | None) -> float:
        started = time.monotonic()
        while True:
            backlog = await self.backlog(since=started)
            waited = time.monotonic() - started
            if backlog is None or backlog < self.bound():
                return waited
            if waited >= self.max_wait_s:
                log.warning(
                    "pipeline still backed up; page sent unpaced",
                    extra=ctx(
                        tenant=tenant_id,
                        backlog=backlog,
                        bound=self.bound(),
                        waited_s=round(waited, 1),
                    ),
                )
                return waited
            self._report(backlog)
            if beat is not None:  # waiting is progress, not a stalled loop (/healthz)
                await beat()
            await asyncio.sleep(self.check_every_s)

    def _report(self, backlog: int) -> None:
        """While pages wait, what they wait for, at most every REPORT_EVERY_S: a load's pace
        and its bound are what an operator asks about when it seems slow."""
        now = time.monotonic()
        if now - self._reported_at < REPORT_EVERY_S:
            return
        self._reported_at = now
        pace = self.pace.per_second()
        log.info(
            "pages paced",
            extra=ctx(
                backlog=backlog,
                bound=self.bound(),
                pace_per_s=None if pace is None else round(pace),
                waiting=self.waiting,
            ),
        )

    def bound(self) -> int:
        """The backlog below which a page goes now: `max_backlog` when not pacing by time."""
        if self.seconds is None:
            return self.max_backlog
        return paced_bound(
            self.pace.per_second(),
            seconds=self.seconds,
            floor=self.min_backlog,
            cap=self.max_backlog,
        )

    async def backlog(self, *, since: float = -float("inf")) -> int | None:
        """The events waiting for the pipeline's groups, read at most every `check_every_s`
        (and read again if the last reading is older than `since`); None while it cannot be
        read."""
        async with self._lock:
            now = time.monotonic()
            if now - self._read_at >= self.check_every_s or self._read_at < since:
                self._backlog = await self._read()
                self._read_at = time.monotonic()
            return self._backlog

    async def _read(self) -> int | None:
        try:
            progress = await self._reader.active_progress(self._groups)
        except Exception as exc:  # any failure to read: pacing is an optimisation, never a stop
            if not self._failing:
                log.warning(
                    "pipeline backlog unreadable; bulk pages go unpaced",
                    extra=ctx(error=type(exc).__name__, detail=str(exc)[:200]),
                )
            self._failing = True
            return None
        if self._failing:
            log.info("pipeline backlog readable again; bulk pages are paced")
        self._failing = False
        self.pace.add(time.monotonic(), progress.done)
        return progress.waiting
