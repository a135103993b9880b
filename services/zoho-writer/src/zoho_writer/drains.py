"""Each tenant's drain on its own: a slow org's drain never delays another tenant's.

`drain_once` (handlers.py) drains every due tenant once and returns when the last one is done,
so one tenant whose share runs into the share deadline (an org answering after 50 s) held
every other tenant's parked commands for up to that long. `Drains` starts one task per due
tenant instead, at most DRAIN_TENANTS_AT_ONCE writing at a time, and looks for newly due
tenants every tick. A tenant with a backlog (an initial load the consumer handed over, a
pause that ended) keeps draining batch after batch for up to DRAIN_TURN_S, then gives its
slot up for a tick, so four loading tenants cannot keep a fifth waiting for long.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mlc_core.logging import ctx

from zoho_writer.deps import WriterDeps
from zoho_writer.handlers import DRAIN_BATCH, DRAIN_TENANTS_AT_ONCE, drain_tenant

log = logging.getLogger(__name__)
# Long enough that a loading tenant spends its slot writing, not waiting for ticks; short
# enough that a tenant queued behind four loading ones waits seconds, not minutes.
DRAIN_TURN_S = 20.0


class Drains:
    """The running drains, one task per tenant."""

    def __init__(self, deps: WriterDeps, *, stop: asyncio.Event) -> None:
        self._deps, self._stop = deps, stop
        self._gate = asyncio.Semaphore(DRAIN_TENANTS_AT_ONCE)
        self._tasks: dict[str, asyncio.Task[int]] = {}

    async def tick(self) -> set[str]:
        """Start a drain for every due tenant not draining yet; returns those started.
        PostgreSQL refusing the look-up raises (the supervisor retries with its backoff)."""
        self._reap()
        started = set()
        for tenant_id in await self._deps.parking.due_tenants():
            if tenant_id not in self._tasks:
                self._tasks[tenant_id] = asyncio.create_task(self._drain(tenant_id))
                started.add(tenant_id)
        return started

    @property
    def draining(self) -> set[str]:
        return {t for t, task in self._tasks.items() if not task.done()}

    async def close(self) -> None:
        """Wait for the running drains (each stops after its current batch once `stop` is
        set; a batch is bounded by the share deadline)."""
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._reap()

    async def _drain(self, tenant_id: str) -> int:
        deps, total = self._deps, 0
        async with self._gate, deps.parking.drain_lock(tenant_id) as mine:
            if not mine:
                return 0  # another replica drains this tenant
            deps.draining.add(tenant_id)
            try:
                turn_ends = time.monotonic() + DRAIN_TURN_S
                while not self._stop.is_set():
                    done = await drain_tenant(tenant_id, deps)
                    total += done
                    if done < DRAIN_BATCH or time.monotonic() >= turn_ends:
                        break
            finally:
                deps.draining.discard(tenant_id)
        return total

    def _reap(self) -> None:
        for tenant_id, task in list(self._tasks.items()):
            if not task.done():
                continue
            del self._tasks[tenant_id]
            exc = None if task.cancelled() else task.exception()
            if exc is not None:
                log.error(
                    "drain of a tenant failed",
                    exc_info=exc,
                    extra=ctx(tenant=tenant_id, error=type(exc).__name__),
                )
