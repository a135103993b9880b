"""How many Zoho calls one replica may have in flight for one org.

Zoho allows per org (per app) Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate 25
simultaneous calls, and 10 for writes of more than 10 records in every edition (zoho-crm.md §5).
Our writes are batches of up to 100, so an org's ceiling is min(edition, 10); split evenly over
the live writer replicas (replicas.py counts them) so that together they never exceed it. A 429
anyway (another app of the same org, a replica that joined a moment ago) pauses the tenant
instead of failing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Literal

CONCURRENCY = {"free": 5, "standard": 10, "professional": 15, "enterprise": 20, "ultimate": 25}
SUB_CONCURRENCY = 10
# Zoho goes on serving a request whose client gave up (a share cut at its batch wait) and counts
# it against the org's concurrency until it ends. A cancelled call's slot is therefore freed only
# after as long again as it had run, at least this long: freed at once, the next call would
# take a slot Zoho still counts as busy and be refused with a 429 (then the tenant pauses).
CANCELLED_HOLD_MIN_S = 1.0
# Zoho One is sold with Enterprise limits, CRM Plus with Ultimate's (Kaizen #203).
ALIASES = {"starter": "standard", "zoho one": "enterprise", "crm plus": "ultimate"}


def known_edition(name: str | None) -> str | None:
    if not name:
        return None
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    return key if key in CONCURRENCY else None


def ceiling(edition: str) -> int:
    """The org's simultaneous calls, all replicas together."""
    return min(CONCURRENCY[edition], SUB_CONCURRENCY)


def slots(edition: str, replicas: int) -> int:
    """One replica's share, rounded down so the sum stays under the ceiling. At least one:
    a replica with none could never write the tenant's records on its partitions, so past
    `ceiling` replicas (6 on a Free org) the sum may exceed it and Zoho's 429 holds the tenant
    for a moment (docs/zoho.md, "Limits")."""
    return max(1, ceiling(edition) // max(1, replicas))


class Gate(asyncio.Semaphore):
    """A semaphore whose size can change while calls hold it. Growing admits waiters at once;
    shrinking never cancels a call in flight: new calls wait until enough have finished.
    A Semaphore to its callers (`async with gate`), its own counting underneath."""

    def __init__(self, size: int) -> None:
        super().__init__(0)
        self._size = size
        self._held = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def size(self) -> int:
        return self._size

    @property
    def held(self) -> int:
        """Calls admitted and not yet released."""
        return self._held

    def resize(self, size: int) -> None:
        self._size = size
        self._wake()

    def locked(self) -> bool:
        return self._held >= self._size

    async def acquire(self) -> Literal[True]:
        # First come, first served, as asyncio.Semaphore: a newcomer queues behind waiters.
        if self._held < self._size and not self._waiting:
            self._held += 1
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over before the cancel: pass it on
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise
        return True

    @contextlib.asynccontextmanager
    async def calling(self) -> AsyncIterator[None]:
        """One Zoho call's slot; a call cancelled in flight keeps it a while (see
        CANCELLED_HOLD_MIN_S)."""
        await self.acquire()
        started = time.monotonic()
        try:
            yield
        except asyncio.CancelledError:
            held = max(CANCELLED_HOLD_MIN_S, time.monotonic() - started)
            asyncio.get_running_loop().call_later(held, self.release)
            raise
        except BaseException:
            self.release()
            raise
        else:
            self.release()

    def release(self) -> None:
        if self._held <= 0:
            raise ValueError("Gate released more often than acquired")
        self._held -= 1
        self._wake()

    def _wake(self) -> None:
        # A woken waiter gets its slot handed over here: nobody can take it in between.
        while self._waiting and self._held < self._size:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._held += 1
                waiter.set_result(None)


class TenantLimiter:
    """One gate per tenant, sized from its edition and the live writer replicas; re-sized in
    place when either changes (calls already in flight keep their slots until they finish)."""

    def __init__(self, *, replicas: int = 1) -> None:
        self._replicas = max(1, replicas)
        self._gates: dict[str, tuple[str, Gate]] = {}

    @property
    def replicas(self) -> int:
        return self._replicas

    def gate(self, tenant_id: str, edition: str) -> Gate:
        current = self._gates.get(tenant_id)
        if current is None:
            current = (edition, Gate(slots(edition, self._replicas)))
        elif current[0] != edition:
            current[1].resize(slots(edition, self._replicas))
            current = (edition, current[1])
        self._gates[tenant_id] = current
        return current[1]

    def set_replicas(self, replicas: int) -> None:
        """The live writer count changed: every tenant's share follows it."""
        replicas = max(1, replicas)
        if replicas == self._replicas:
            return
        self._replicas = replicas
        for edition, gate in self._gates.values():
            gate.resize(slots(edition, replicas))

    def settled(self) -> bool:
        """Every tenant's calls in flight fit its current share (a shrink has taken effect)."""
        return all(gate.held <= gate.size for _, gate in self._gates.values())
