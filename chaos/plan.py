"""Pure: which fault happens when, from a seed (the same seed gives the same run plan).

Shaped like Kafka's bounce tests: every service instance is bounced with SIGKILL in a shuffled
order, several rounds, one at a time; the broker and the database are restarted; Zoho and Sage
misbehave on a schedule. Faults are spread over the chaos window so each hits records in flight.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

TOKEN_EXPIRY_EVERY_S = 30.0


class FaultKind(StrEnum):
    KILL = "SIGKILL + restart"
    KAFKA_RESTART = "Kafka broker restart"
    POSTGRES_RESTART = "PostgreSQL restart"
    ZOHO_5XX = "Zoho 5xx burst"
    ZOHO_429 = "Zoho 429 storm"
    TOKEN_EXPIRY = "Zoho token expiry"  # noqa: S105 - a fault's name, not a secret
    DC_MOVE = "Zoho data-centre move"
    SAGE_LOCKS_ON = "Sage record locks on"
    SAGE_LOCKS_OFF = "Sage record locks off"


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the chaos window opened
    kind: FaultKind
    target: str = ""  # a process name or a tenant id
    status: int = 0  # HTTP status of a Zoho burst
    seconds: float = 0.0  # how long a burst lasts, or how long a killed process stays down

    @property
    def label(self) -> str:
        """How the fault is counted in the summary table."""
        if self.kind is FaultKind.KILL:
            return f"{self.kind} {self.target.partition('#')[0]}"
        if self.kind is FaultKind.ZOHO_5XX:
            return f"{self.kind} ({self.status})"
        return str(self.kind)


@dataclass(frozen=True)
class PlanSpec:
    seconds: float
    seed: int
    tenants: tuple[str, ...]
    processes: tuple[str, ...]  # every killable instance, e.g. "mlc-zoho-writer#2"
    kill_rounds: int = 3
    moved_to: str = "eu"


def build_plan(spec: PlanSpec) -> list[Fault]:
    rng = random.Random(spec.seed)
    faults = (
        _kills(spec, rng)
        + _infra(spec)
        + _zoho_bursts(spec, rng)
        + _token_expiry(spec)
        + [_dc_move(spec, rng)]
        + _sage_locks(spec)
    )
    return sorted(faults, key=lambda f: (f.at, f.kind, f.target))


def _kills(spec: PlanSpec, rng: random.Random) -> list[Fault]:
    """Rounds of every instance in a shuffled order, on evenly spaced slots: never two at once,
    so of two replicas one is always up (a killed one is restarted before the next slot)."""
    order: list[str] = []
    for _ in range(spec.kill_rounds):
        round_ = list(spec.processes)
        rng.shuffle(round_)
        order += round_
    if not order:
        return []
    first, last = 0.05 * spec.seconds, 0.9 * spec.seconds
    step = (last - first) / len(order)
    down = min(3.0, step / 2)
    return [
        Fault(first + i * step, FaultKind.KILL, name, seconds=round(rng.uniform(0.2, down), 2))
        for i, name in enumerate(order)
    ]


def _infra(spec: PlanSpec) -> list[Fault]:
    """One restart of each per four minutes (at least one), the two never at the same time."""
    count = max(1, round(spec.seconds / 240))
    faults = []
    for i in range(count):
        base = (i + 0.3) / count * spec.seconds
        faults.append(Fault(base, FaultKind.KAFKA_RESTART))
        faults.append(Fault(base + 0.4 * spec.seconds / count, FaultKind.POSTGRES_RESTART))
    return faults


def _zoho_bursts(spec: PlanSpec, rng: random.Random) -> list[Fault]:
    count = max(2, round(spec.seconds / 60))
    faults = []
    for _ in range(count):
        faults.append(
            Fault(
                rng.uniform(0.05, 0.85) * spec.seconds,
                FaultKind.ZOHO_5XX,
                rng.choice(spec.tenants),
                status=rng.choice((500, 503)),
                seconds=round(rng.uniform(3, 8), 1),
            )
        )
        faults.append(
            Fault(
                rng.uniform(0.05, 0.85) * spec.seconds,
                FaultKind.ZOHO_429,
                rng.choice(spec.tenants),
                status=429,
                seconds=round(rng.uniform(5, 15), 1),
            )
        )
    return faults


def _token_expiry(spec: PlanSpec) -> list[Fault]:
    """Every 30 s one tenant's access tokens expire, tenants in turn: each tenant's tokens then
    live 30 s x tenants, which keeps its refreshes under Zoho's 10 per 10 minutes (the throttle
    is Zoho's rule, not a fault to inject)."""
    times = _every(TOKEN_EXPIRY_EVERY_S, spec.seconds)
    return [
        Fault(at, FaultKind.TOKEN_EXPIRY, spec.tenants[i % len(spec.tenants)])
        for i, at in enumerate(times)
    ]


def _every(period: float, seconds: float) -> list[float]:
    return [period * i for i in range(1, int(seconds // period) + 1) if period * i < seconds]


def _dc_move(spec: PlanSpec, rng: random.Random) -> Fault:
    return Fault(0.45 * spec.seconds, FaultKind.DC_MOVE, rng.choice(spec.tenants))


def _sage_locks(spec: PlanSpec) -> list[Fault]:
    return [
        Fault(0.0, FaultKind.SAGE_LOCKS_ON),
        Fault(spec.seconds, FaultKind.SAGE_LOCKS_OFF),
    ]
