"""Per tenant x entity schedule (pure): when each poll and each key reconciliation is due.

Defaults follow the issue: AR customers, contacts (with customers), AR invoices, AP invoices
and sales orders every 15 minutes, vendors hourly, GL daily. Key reconciliation (deletes,
renumbering, stamp-less imports) is a full key scan, so it runs hourly by default. It also
catches open-invoice balances moved by cash-receipt postings, should a posting leave the stamps
alone (sage100.md §4 calls that unconfirmed for balances). A tenant's own cadences
(TenantConfig.cadences) come first, then MLC_POLL_INTERVALS, then these defaults (each
SageTable's default_cadence).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES
from mlc_core.waits import WaitClock

# After a failed poll (Sage locked past the retries, the agent unreachable) the entity is
# retried by itself, first after RETRY_BASE_S, each further failure in a row doubling the wait,
# never later than its normal cadence: a lock that clears in a minute costs a minute, not a
# cadence, and a tenant whose agent stays down is not asked every few seconds.
RETRY_BASE_S = 30.0
DEFAULT_INTERVALS: dict[Entity, float] = {
    entity: table.default_cadence for entity, table in SAGE_TABLES.items()
}


@dataclass(frozen=True)
class PollTiming:
    """A successful poll's timing, kept in poller_status for operators and the benchmark."""

    started_at: datetime  # UTC
    seconds: float  # how long it took
    late_seconds: float | None  # how long after it was due it began; None for the first poll
    sage_seconds: float  # how much of `seconds` it waited on the agent (retries included)


@dataclass(frozen=True)
class PollStart:
    """When a poll began, by both clocks, and how late; `on_sage` counts its time on the
    agent; `done` gives its PollTiming."""

    at: datetime  # UTC, for operators
    monotonic: float  # for its length
    late_seconds: float | None
    on_sage: WaitClock = field(default_factory=WaitClock)

    def done(self, now: float) -> PollTiming:
        return PollTiming(self.at, now - self.monotonic, self.late_seconds, self.on_sage.spent())


@dataclass(frozen=True)
class SchedulePolicy:
    overrides: dict[str, float] = field(default_factory=dict)  # per entity, from settings
    every: float | None = None  # one interval for all entities (dev stacks, tests)
    reconcile_every: float = 3600.0
    retry_base: float = RETRY_BASE_S

    def interval(self, entity: Entity) -> float:
        if entity in self.overrides:
            return self.overrides[entity]
        return self.every if self.every is not None else DEFAULT_INTERVALS[entity]


def tenant_phase(tenant_id: str) -> float:
    """Where in each interval the tenant's polls fall, as a fraction in [0, 1): a stable hash
    of its id, so a thousand tenants' loops started together (a poller restart, a batch
    onboarded) spread their polls over the interval instead of polling all at once."""
    digest = hashlib.blake2b(tenant_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def next_slot(after: float, interval: float, phase: float | None) -> float:
    """The first of the slots `(phase + k) * interval` later than `after`; with no phase,
    `after + interval`. Never more than an interval after `after`, so a change waits at most
    one interval for the poll that reads it, whichever slot comes next."""
    if phase is None or interval <= 0:
        return after + interval
    return after + interval - (after - phase * interval) % interval


@dataclass
class Schedule:
    """Next due times (monotonic seconds) of one tenant's polls and reconciliations.

    With a `phase` (tenant_phase) a successful poll's next one is due at the tenant's next
    slot, one interval at most after it began. Measured in the fairness bench (1,000 tenants
    onboarded within 64 s, polling every 120 s): without it their polls stayed bunched into
    40 s of every 120, up to 397 of them waiting at once for the poller's PostgreSQL
    connections and a poll taking up to 22 s, 17 s of it for a connection. Without a phase
    (None) each poll is due an interval after the one before began."""

    policy: SchedulePolicy
    phase: float | None = None
    next_poll: dict[Entity, float] = field(default_factory=dict)
    next_reconcile: dict[Entity, float] = field(default_factory=dict)
    # The tenant's own cadences (`mlc sage set --cadence`), ahead of the deployment's policy.
    cadences: dict[Entity, float] = field(default_factory=dict)
    failures: dict[Entity, int] = field(default_factory=dict)  # failed polls in a row
    reconcile_failures: dict[Entity, int] = field(default_factory=dict)

    def use_cadences(self, cadences: dict[Entity, float]) -> None:
        """Take the tenant's current cadences; an entity whose cadence changed is due now, so
        a shorter cadence applies at once instead of after the old, longer wait."""
        for entity in set(cadences) | set(self.cadences):
            if cadences.get(entity) != self.cadences.get(entity):
                self.next_poll.pop(entity, None)
        self.cadences = dict(cadences)

    def interval(self, entity: Entity) -> float:
        return self.cadences.get(entity) or self.policy.interval(entity)

    def due_polls(self, entities: list[Entity], now: float) -> list[Entity]:
        return [e for e in entities if self.next_poll.get(e, 0.0) <= now]

    def start(self, entity: Entity, now: float, at: datetime) -> PollStart:
        """A poll of `entity` begins (monotonic `now`, UTC `at`): how late it is, if it was
        scheduled (the first poll after a start was not)."""
        due = self.next_poll.get(entity)
        return PollStart(at, now, None if due is None else max(0.0, now - due))

    def due_reconciles(self, entities: list[Entity], now: float) -> list[Entity]:
        return [e for e in entities if self.next_reconcile.get(e, 0.0) <= now]

    def polled(self, entity: Entity, *, started: float) -> None:
        """A poll that began at `started` succeeded. The next one is due at the tenant's next
        slot, at most an interval after this one began, not after it ended: a change the
        listing just missed is then read within an interval plus the next poll's own time,
        however long this poll took, and a poll that began late does not move the slots.
        Counted from the end, a poll slowed by a busy Sage server or agent (1,000 tenants in
        the fairness bench beside an initial load) stretched every tenant's round by its
        length. A poll that outlasts its interval is followed by the next at once."""
        self.failures.pop(entity, None)
        self.next_poll[entity] = next_slot(started, self.interval(entity), self.phase)

    def poll_failed(self, entity: Entity, now: float) -> float:
        """Schedule the retry of a failed poll with growing backoff; returns the wait."""
        failures = self.failures[entity] = self.failures.get(entity, 0) + 1
        wait = min(self.interval(entity), self._retry_wait(failures))
        self.next_poll[entity] = now + wait
        return wait

    def reconciled(self, entity: Entity, now: float) -> None:
        """A reconciliation ended at `now`. The next is due on the tenant's slots too (a key
        reconciliation is a full key scan: a thousand of them at once after a restart would
        stay together every hour), but at least half an interval after this one ended, so a
        full scan is never followed by another without a pause."""
        self.reconcile_failures.pop(entity, None)
        every = self.policy.reconcile_every
        if self.phase is None:
            self.next_reconcile[entity] = now + every
        else:
            self.next_reconcile[entity] = next_slot(now + every / 2, every, self.phase)

    def reconcile_failed(self, entity: Entity, now: float) -> float:
        """As poll_failed, for a key reconciliation (capped at its own interval)."""
        failures = self.reconcile_failures[entity] = self.reconcile_failures.get(entity, 0) + 1
        wait = min(self.policy.reconcile_every, self._retry_wait(failures))
        self.next_reconcile[entity] = now + wait
        return wait

    def _retry_wait(self, failures: int) -> float:
        return float(self.policy.retry_base * 2.0 ** min(failures - 1, 16))

    def sleep_for(self, entities: list[Entity], now: float, cap: float) -> float:
        upcoming = [self.next_poll.get(e, 0.0) for e in entities]
        upcoming += [self.next_reconcile.get(e, 0.0) for e in entities]
        return max(0.0, min([cap, *(t - now for t in upcoming)]))
