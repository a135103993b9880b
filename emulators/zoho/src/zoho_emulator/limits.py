"""API limits of one org (zoho-crm.md §5, §7 "Limits").

- Concurrency: simultaneous in-flight calls per app per org, by edition (Free 5 …
  Ultimate 25); over it, 429 at once (Zoho does not queue).
- Sub-concurrency: 10 in every edition for heavy calls; here insert, update and
  upsert of more than 10 records.
- Credits: a rolling 24-hour window; a call costs 1 credit, a write 1 per 10
  records (a full 100-record batch costs 10).  Allowance per edition is
  min(base + per_user * users, maximum).  `X-API-CREDITS-REMAINING` is sent once
  usage reaches half the allowance; 429 TOO_MANY_REQUESTS when a call would
  exceed it.  No Retry-After (not documented).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from zoho_emulator.clock import Clock
from zoho_emulator.errors import ApiError

CONCURRENCY = {"free": 5, "standard": 10, "professional": 15, "enterprise": 20, "ultimate": 25}
SUB_CONCURRENCY = 10
HEAVY_WRITE_RECORDS = 10  # writes of MORE than this many records are heavy
WINDOW_SECONDS = 24 * 3600
# edition: (base, per user, maximum or None for unlimited); Kaizen #203 / current CRM pages.
CREDIT_TABLE: dict[str, tuple[int, int, int | None]] = {
    "free": (5_000, 0, 5_000),
    "standard": (50_000, 250, 100_000),
    "professional": (50_000, 500, 3_000_000),
    "enterprise": (50_000, 1_000, 5_000_000),
    "ultimate": (50_000, 2_000, None),
}


def write_cost(records: int) -> int:
    return max(1, math.ceil(records / 10))


def too_many_requests(reason: str) -> ApiError:
    # The exact body is unconfirmed (§5); the standard envelope with Zoho's keyword.
    return ApiError(429, "TOO_MANY_REQUESTS", reason)


@dataclass
class LimitStats:
    credits_used_total: int = 0
    calls_admitted: int = 0
    rejected_concurrency: int = 0
    rejected_sub_concurrency: int = 0
    rejected_credits: int = 0
    max_in_flight: int = 0
    max_heavy_in_flight: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class OrgLimits:
    clock: Clock
    edition: str
    users: int = 10
    credits_override: int | None = None
    concurrency_override: int | None = None
    in_flight: int = 0
    heavy_in_flight: int = 0
    stats: LimitStats = field(default_factory=LimitStats)
    _ledger: deque[tuple[float, int]] = field(default_factory=deque)

    @property
    def concurrency(self) -> int:
        return self.concurrency_override or CONCURRENCY[self.edition]

    def allowance(self) -> int:
        if self.credits_override is not None:
            return self.credits_override
        base, per_user, maximum = CREDIT_TABLE[self.edition]
        total = base + per_user * self.users
        return total if maximum is None else min(total, maximum)

    def used(self) -> int:
        horizon = self.clock.now() - WINDOW_SECONDS
        while self._ledger and self._ledger[0][0] <= horizon:
            self._ledger.popleft()
        return sum(cost for _, cost in self._ledger)

    def remaining(self) -> int:
        return max(0, self.allowance() - self.used())

    def credits_header(self) -> dict[str, str]:
        """`X-API-CREDITS-REMAINING`, present once half the allowance is used."""
        if self.used() * 2 < self.allowance():
            return {}
        return {"X-API-CREDITS-REMAINING": str(self.remaining())}

    def enter(self, cost: int, *, heavy: bool) -> None:
        """Admit a call (take a slot, charge credits) or raise 429."""
        if self.in_flight >= self.concurrency:
            self.stats.rejected_concurrency += 1
            raise too_many_requests("concurrency limit of the app for this org exceeded")
        if heavy and self.heavy_in_flight >= SUB_CONCURRENCY:
            self.stats.rejected_sub_concurrency += 1
            raise too_many_requests("sub-concurrency limit exceeded")
        if self.used() + cost > self.allowance():
            self.stats.rejected_credits += 1
            error = too_many_requests("API credits for the 24 hour period are exhausted")
            error.headers = {"X-API-CREDITS-REMAINING": str(self.remaining())}
            raise error
        self._ledger.append((self.clock.now(), cost))
        self.stats.credits_used_total += cost
        self.stats.calls_admitted += 1
        self.in_flight += 1
        self.heavy_in_flight += heavy
        self.stats.max_in_flight = max(self.stats.max_in_flight, self.in_flight)
        self.stats.max_heavy_in_flight = max(self.stats.max_heavy_in_flight, self.heavy_in_flight)

    def leave(self, *, heavy: bool) -> None:
        self.in_flight -= 1
        self.heavy_in_flight -= heavy

    def describe(self) -> dict[str, object]:
        return {
            "edition": self.edition,
            "concurrency": self.concurrency,
            "sub_concurrency": SUB_CONCURRENCY,
            "credits_allowance": self.allowance(),
            "credits_used_24h": self.used(),
            "credits_remaining": self.remaining(),
            "in_flight": self.in_flight,
            **self.stats.as_dict(),
        }
