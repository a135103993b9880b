"""When and for how long a tenant's writes wait (pure): the hold reasons, which Zoho errors put
a tenant on hold (by class, never by message text), and the pause backoff.

Stored in writer_tenant_state: `pause_reason` holds a HoldReason's words (what `mlc status`
shows), `paused_until` and `consecutive_pauses` the pause this policy computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mlc_core.zoho.errors import ZohoAuthError, ZohoError, ZohoRateLimited, ZohoTokenThrottled


class HoldReason(StrEnum):
    """Why a tenant's commands wait instead of being written (or failed)."""

    RATE_LIMITED = "Zoho answered 429"  # concurrency, or a token refresh refused for now
    CREDITS_EXHAUSTED = "API credits exhausted (429)"
    CREDITS_LOW = "API credits nearly exhausted"
    RECONNECT = "Zoho access refused"  # the refresh token is revoked: a person must reconnect

    @classmethod
    def of_pause(cls, stored: str) -> HoldReason:
        """The reason of a stored pause (`pause_reason` holds a reason's words)."""
        found = [reason for reason in cls if reason.value == stored]
        return found[0] if found else cls.RATE_LIMITED

    @property
    def spends_credits(self) -> bool:
        return self in (HoldReason.CREDITS_EXHAUSTED, HoldReason.CREDITS_LOW)


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
    # Below this many credits left, pause before Zoho refuses: one full batch of 100 records
    # costs 10 credits (zoho-crm.md §5), so this keeps one last batch's worth.
    credit_reserve: int = 10

    def base(self, reason: HoldReason) -> float:
        return self.credit_pause_seconds if reason.spends_credits else self.pause_seconds

    def paused_again(self, current: PauseState, reason: HoldReason, now: datetime) -> PauseState:
        """The pause after `current` for `reason`: the base wait, doubled for each episode in
        a row, up to the cap. Several chunks (or replicas) hitting the same 429 at once are
        one episode: the count only grows once the previous pause is over, and an ongoing
        pause is only ever extended, never shortened."""
        ongoing = current.until is not None and current.until > now
        wait = min(
            self.pause_cap_seconds, self.base(reason) * 2.0 ** min(current.episodes, MAX_DOUBLINGS)
        )
        until = now + timedelta(seconds=wait)
        if ongoing and current.until is not None:
            until = max(until, current.until)
        return PauseState(until=until, episodes=current.episodes + (0 if ongoing else 1))
