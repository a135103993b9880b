"""When and for how long a tenant's writes wait (pure): the hold reasons, which errors put a
tenant on hold (by class, never by message text), and the pause backoff.

`fault_for` is the writer's one statement of what a failure costs (docs/failure-costs.md):
a record (a per-record Zoho refusal: dead letter, decided where Zoho answers per record), the
tenant (any other failure in its share of a batch: paused, circuit open), or the service
(only PostgreSQL or Kafka unreachable: the batch is retried from its offsets).

Stored in writer_tenant_state: `pause_reason` holds a HoldReason's words (what `mlc status`
shows), `pause_detail` the error behind it, `paused_until` and `consecutive_pauses` the pause
this policy computed, `circuit_open` whether the consumer parks until a drain pass succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg
from aiokafka.errors import KafkaError
from mlc_core.zoho.errors import (
    ZohoAuthError,
    ZohoError,
    ZohoRateLimited,
    ZohoRetryableError,
    ZohoTokenThrottled,
)


class HoldReason(StrEnum):
    """Why a tenant's commands wait instead of being written (or failed)."""

    RATE_LIMITED = "Zoho answered 429"  # concurrency, or a token refresh refused for now
    CREDITS_EXHAUSTED = "API credits exhausted (429)"
    CREDITS_LOW = "API credits nearly exhausted"
    RECONNECT = "Zoho access refused"  # the refresh token is revoked: a person must reconnect
    # Faults of the tenant's own: its commands wait with a growing backoff, and the circuit
    # stays open (the consumer parks, only the drain probes) until a drain pass succeeds.
    ZOHO_UNAVAILABLE = "Zoho unavailable (5xx, timeouts)"
    ZOHO_SLOW = "Zoho too slow (batch deadline)"
    ZOHO_MALFORMED = "Zoho answered malformed"
    WRITER_ERROR = "writer error"

    @classmethod
    def of_pause(cls, stored: str) -> HoldReason:
        """The reason of a stored pause (`pause_reason` holds a reason's words)."""
        found = [reason for reason in cls if reason.value == stored]
        return found[0] if found else cls.RATE_LIMITED

    @property
    def spends_credits(self) -> bool:
        return self in (HoldReason.CREDITS_EXHAUSTED, HoldReason.CREDITS_LOW)

    @property
    def opens_circuit(self) -> bool:
        """Waiting out a pause is not proof the fault is gone: only a drain pass that writes
        again closes the circuit (a 429 or spent credits end with their pause)."""
        return self in FAULTS


FAULTS = frozenset(
    {
        HoldReason.ZOHO_UNAVAILABLE,
        HoldReason.ZOHO_SLOW,
        HoldReason.ZOHO_MALFORMED,
        HoldReason.WRITER_ERROR,
    }
)
# PostgreSQL or Kafka unreachable (or PostgreSQL refusing work: a statement cut at its bound):
# nothing can be made durable, so the batch is retried from its offsets, for every tenant.
# OSError covers refused and reset connections (and asyncio's TimeoutError of a connect);
# Zoho's transport errors never arrive as OSError (mlc_core.zoho wraps them).
INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.QueryCanceledError,
    asyncpg.CannotConnectNowError,
    OSError,
    KafkaError,
)


def fault_for(exc: BaseException) -> HoldReason | None:
    """What an error escaping a tenant's share of a batch costs: None when it is the
    service's (infrastructure: re-raised, the batch retried), else the tenant's hold reason.
    Anything unforeseen (a bug hit by the tenant's data, its secrets unreadable after a key
    was retired) costs that tenant only."""
    if isinstance(exc, INFRASTRUCTURE):
        return None
    if isinstance(exc, ZohoError):
        held = hold_for(exc)
        if held is not None:
            return held
        if isinstance(exc, ZohoRetryableError):
            return HoldReason.ZOHO_UNAVAILABLE
        if type(exc) is ZohoError:  # an answer that fits no shape Zoho documents
            return HoldReason.ZOHO_MALFORMED
    return HoldReason.WRITER_ERROR


def describe(exc: BaseException, *, limit: int = 300) -> str:
    """The error as `mlc status` shows it: class and message, cut to one short line.
    (Exception texts name tenants, modules and codes, never secrets: mlc_core.zoho and
    mlc_core.crypto never put a token or key in a message.)"""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hold_for(exc: ZohoError) -> HoldReason | None:
    """The hold a Zoho error puts the tenant in; None when waiting would not help."""
    if isinstance(exc, ZohoRateLimited):
        out = exc.credits_remaining == 0
        return HoldReason.CREDITS_EXHAUSTED if out else HoldReason.RATE_LIMITED
    if isinstance(exc, ZohoTokenThrottled):
        # Zoho (or our own refresh budget) refuses new tokens for now: waiting is the fix.
        return HoldReason.RATE_LIMITED
    if isinstance(exc, ZohoAuthError):
        return HoldReason.RECONNECT
    return None


@dataclass(frozen=True)
class Held:
    """A call's answer that holds the tenant (the error that did it, for the log)."""

    reason: HoldReason
    error: ZohoError

    @property
    def credits_remaining(self) -> int | None:
        return self.error.credits_remaining if isinstance(self.error, ZohoRateLimited) else None


@dataclass(frozen=True)
class PauseState:
    """A tenant's stored pause: until when, and how many pause episodes in a row (without a
    successful write in between) led to it."""

    until: datetime | None = None
    episodes: int = 0


# Doubling stops growing here: 2**12 times any base is far past every cap, and the count of a
# tenant paused for weeks cannot overflow.
MAX_DOUBLINGS = 12


@dataclass(frozen=True)
class HoldPolicy:
    """Built from WriterSettings (the one place the tunable numbers and their reasons live)."""

    pause_seconds: float
    pause_cap_seconds: float
    credit_pause_seconds: float
    # A command parked for a tenant fault this many times fails (retryable, dead letter);
    # with the pause doubling to its cap that is about 9 hours of Zoho refusing it.
    fault_attempts: int = 40
    # Below this many credits left, pause before Zoho refuses: one full batch of 100 records
    # costs 10 credits (zoho-crm.md §5), so this keeps one last batch's worth.
    credit_reserve: int = 10

    def base(self, reason: HoldReason) -> float:
        return self.credit_pause_seconds if reason.spends_credits else self.pause_seconds

    def retry_delay(self, attempts: int) -> float:
        """When a command whose own call failed (its tenant's other calls went through) is
        tried again: the pause backoff, per command."""
        return min(self.pause_cap_seconds, self.pause_seconds * 2.0 ** min(attempts, MAX_DOUBLINGS))

    def paused_again(self, current: PauseState, reason: HoldReason, now: datetime) -> PauseState:
        """The pause after `current` for `reason`: the base wait, doubled for each episode in
        a row, up to the cap. Several chunks (or replicas) hitting the same 429 at once are
        one episode: the count only grows once the previous pause is over, and an ongoing
        pause is only ever extended, never shortened.

        A first `Zoho too slow` episode waits nothing: a busy machine or a tenant's first calls
        (token, field check) can miss the short batch wait of an org that is healthy. Its circuit
        is open all the same, so consumed batches park it without calling Zoho (the others pay
        nothing more), and the drain probes it at once with its long share deadline: a healthy
        org answers there, a hanging one is paused with the full backoff from the next episode."""
        ongoing = current.until is not None and current.until > now
        if reason is HoldReason.ZOHO_SLOW and current.episodes == 0 and not ongoing:
            return PauseState(until=now, episodes=1)
        wait = min(
            self.pause_cap_seconds, self.base(reason) * 2.0 ** min(current.episodes, MAX_DOUBLINGS)
        )
        until = now + timedelta(seconds=wait)
        if ongoing and current.until is not None:
            until = max(until, current.until)
        return PauseState(until=until, episodes=current.episodes + (0 if ongoing else 1))
