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

from dataclasses import dataclass, field

from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES

DEFAULT_INTERVALS: dict[Entity, float] = {
    entity: table.default_cadence for entity, table in SAGE_TABLES.items()
}


@dataclass(frozen=True)
class SchedulePolicy:
    overrides: dict[str, float] = field(default_factory=dict)  # per entity, from settings
    every: float | None = None  # one interval for all entities (dev stacks, tests)
    reconcile_every: float = 3600.0

    def interval(self, entity: Entity) -> float:
        if entity in self.overrides:
            return self.overrides[entity]
        return self.every if self.every is not None else DEFAULT_INTERVALS[entity]


@dataclass
class Schedule:
    """Next due times (monotonic seconds) of one tenant's polls and reconciliations."""

    policy: SchedulePolicy
    next_poll: dict[Entity, float] = field(default_factory=dict)
    next_reconcile: dict[Entity, float] = field(default_factory=dict)
    # The tenant's own cadences (`mlc sage set --cadence`), ahead of the deployment's policy.
    cadences: dict[Entity, float] = field(default_factory=dict)

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

    def due_reconciles(self, entities: list[Entity], now: float) -> list[Entity]:
        return [e for e in entities if self.next_reconcile.get(e, 0.0) <= now]

    def polled(self, entity: Entity, now: float) -> None:
        self.next_poll[entity] = now + self.interval(entity)

    def reconciled(self, entity: Entity, now: float) -> None:
        self.next_reconcile[entity] = now + self.policy.reconcile_every

    def sleep_for(self, entities: list[Entity], now: float, cap: float) -> float:
        upcoming = [self.next_poll.get(e, 0.0) for e in entities]
        upcoming += [self.next_reconcile.get(e, 0.0) for e in entities]
        return max(0.0, min([cap, *(t - now for t in upcoming)]))
