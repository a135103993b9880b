"""Which writer replicas are live, so that each org's Zoho concurrency is shared among them.

Every replica beats its row in `writer_replicas` every `beat_seconds`; those PostgreSQL saw
within `live_for_seconds` are live, and the limiter gives each replica the org's ceiling
divided by their count. Nothing to configure: a replica added by Kubernetes, Compose or a
second process on the same host counts itself in.

Why every live replica, not the consumer group members owning a tenant's partitions: commands
are keyed per record, so every partition carries every busy tenant's records; the drain writes
any tenant's parked commands from whichever replica holds its lock; and partitions move on
every rebalance, mid-call. Counting all live replicas bounds the sum with no coordination per
call, and wastes nothing while each replica has the tenant's work (an initial load).

The moments the count changes:
- A replica joins: it beats, then makes no Zoho call until every other live replica reports
  (`settled_for`) that it has shrunk to the new count and its calls beyond the new share have
  ended (a shrink never cuts a call in flight; at most one call's time, ZOHO_TIMEOUT_SECONDS).
  So the sum never exceeds the ceiling while replicas are added. A replica that never settles
  (hung) holds a newcomer back at most `join_wait_seconds`.
- A replica stops cleanly: it removes its row after its last call; the others grow at their
  next beat.
- A replica dies: it stops beating, and the others keep dividing by the old count until the
  bound has passed: they stay under the budget (they divided by more), never over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from mlc_core.logging import ctx
from mlc_core.runtime import sleep_or_stop
from mlc_core.supervise import RestartBackoff, run_supervised

from zoho_writer.limiter import TenantLimiter
from zoho_writer.store import ReplicaStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicaTiming:
    # A beat every 2 s costs three short statements. 15 s of silence (seven missed beats) is
    # death, not a slow moment (a busy pool, a PostgreSQL failover): forgetting a live replica
    # is the one error that lets the others exceed the budget, so the bound errs long.
    beat_seconds: float = 2.0
    live_for_seconds: float = 15.0
    # Past the longest Zoho call (30 s) with room for a beat or two.
    join_wait_seconds: float = 40.0


@dataclass(frozen=True)
class Beat:
    """What one heartbeat saw: the live replicas, and the smallest count any other live one
    has settled to (None when this replica is alone)."""

    live: int
    others_settled: int | None

    @property
    def others_ready(self) -> bool:
        """Every other replica's calls fit a share of `live`: this one may call Zoho."""
        return self.others_settled is None or self.others_settled >= self.live


def default_replica_id() -> str:
    """Host (the pod's name in Kubernetes), process and a random part: unique per start."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class WriterReplicas:
    """This replica's row in `writer_replicas`, and its limiter following the live count."""

    def __init__(
        self,
        *,
        store: ReplicaStore,
        limiter: TenantLimiter,
        timing: ReplicaTiming | None = None,
        replica_id: str | None = None,
    ) -> None:
        self.replica_id = replica_id or default_replica_id()
        self.timing = timing or ReplicaTiming()
        self._store = store
        self._limiter = limiter
        self._settled_for = 0

    async def beat(self) -> Beat:
        self._note_settled()  # calls may have ended since the last beat
        live, others = await self._store.beat(
            self.replica_id,
            settled_for=self._settled_for,
            live_for_seconds=self.timing.live_for_seconds,
        )
        self._limiter.set_replicas(live)
        self._note_settled()
        return Beat(live, others)

    def _note_settled(self) -> None:
        # While calls in flight exceed a shrunk share, they still fit only the earlier, smaller
        # count: that is what this replica reports until they end.
        if self._limiter.settled():
            self._settled_for = self._limiter.replicas

    async def join(self, stop: asyncio.Event) -> Beat:
        """Count this replica in; returns once the others have made room for it (or the wait
        is over, or `stop` is set). Call before the first Zoho call."""
        deadline = time.monotonic() + self.timing.join_wait_seconds
        while True:
            beat = await self.beat()
            if beat.others_ready or stop.is_set():
                return beat
            if time.monotonic() >= deadline:
                log.warning(
                    "writer replicas have not made room for this one; calling Zoho anyway",
                    extra=ctx(replica=self.replica_id, live=beat.live),
                )
                return beat
            await sleep_or_stop(stop, self.timing.beat_seconds)

    async def keep_beating(self, stop: asyncio.Event) -> None:
        """Beat until `stop`, supervised: a failed beat is retried within one beat's time."""

        async def iteration() -> float:
            await self.beat()
            return self.timing.beat_seconds

        backoff = RestartBackoff(base=self.timing.beat_seconds / 2, cap=self.timing.beat_seconds)
        await run_supervised("replica heartbeat", iteration, stop=stop, backoff=backoff)

    async def leave(self) -> None:
        """After this replica's last Zoho call: the others may take its share at once."""
        try:
            await self._store.leave(self.replica_id)
        except Exception:  # shutting down: the row ages out after the bound anyway
            log.warning("could not remove this writer replica's row", exc_info=True)
