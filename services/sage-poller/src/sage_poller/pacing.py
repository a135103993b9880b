"""Pacing of bulk pages: a long poll's later pages wait while the pipeline is backed up.

Kafka delivers a partition in order, and every tenant's events share the partitions: an
initial load of 200,000 rows emitted as fast as the poller reads them sat in front of every
other tenant's edits in the mapper's and writer's partitions, and the healthy tenants' change
latency grew from 4 s to 20 s and more (docs/chaos.md, the noisy neighbour). So a poll's
first slice of PACED_SLICE records always goes at once (an ordinary poll is one slice, or a
short listing), and every later slice waits until the events waiting for the mapper and the
writer (their consumer groups' lag) are fewer than `max_backlog`. The load then runs at the
pace of the slowest stage, which is as fast as it could go anyway, and another tenant's edit
waits behind at most about `max_backlog` plus one slice of it.

Pacing never stops a poll. Reading the lag failing (Kafka restarting, the poller's principal
without Describe on the groups) lets the page go, logged once per failure streak; a group
with no member is not waited for (mlc_core.lag); and a page waits at most `max_wait_s`, so a
stuck consumer is what `mlc status` and liveness report, not a poller that stopped too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from mlc_core.contracts import Topics
from mlc_core.lag import PIPELINE_GROUPS
from mlc_core.logging import ctx

log = logging.getLogger(__name__)


# Records per paced step. The poller is one event loop for every tenant: planning a step is
# CPU without an await (about 1 ms a record here), so a step of 2,000 held every other
# tenant's poll for a second or more at each of its awaits; 200 keeps each hold near 0.2 s,
# for one PostgreSQL commit and one Kafka ack wait more per 200 records of a bulk poll.
PACED_SLICE = 200


class BacklogReader(Protocol):
    async def active_lag(self, groups: Mapping[str, Topics | None]) -> int: ...


Beat = Callable[[], Awaitable[None]]


class Pacer:
    """Admits bulk pages; one lag reading every `check_every_s` serves every tenant's loop."""

    def __init__(
        self,
        reader: BacklogReader,
        *,
        max_backlog: int,
        check_every_s: float = 0.5,
        max_wait_s: float = 60.0,
        groups: Mapping[str, Topics | None] = PIPELINE_GROUPS,
    ) -> None:
        self._reader, self._groups = reader, groups
        self.max_backlog = max_backlog
        self.check_every_s = check_every_s
        self.max_wait_s = max_wait_s
        self._lock = asyncio.Lock()
        self._read_at = -float("inf")
        self._backlog: int | None = None
        self._failing = False
        self.waiting = 0  # pages waiting now (tests and logs)

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
            if backlog is None or backlog < self.max_backlog:
                return waited
            if waited >= self.max_wait_s:
                log.warning(
                    "pipeline still backed up; page sent unpaced",
                    extra=ctx(tenant=tenant_id, backlog=backlog, waited_s=round(waited, 1)),
                )
                return waited
            if beat is not None:  # waiting is progress, not a stalled loop (/healthz)
                await beat()
            await asyncio.sleep(self.check_every_s)

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
            backlog = await self._reader.active_lag(self._groups)
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
        return backlog
