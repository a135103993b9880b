"""What one tenant's share of a batch (or of a drain pass) produced, and its hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from mlc_core.contracts import ZohoWriteOutcome
from mlc_core.waits import WaitClock
from mlc_core.zoho.errors import ZohoError

from zoho_writer.hold_policy import HoldReason
from zoho_writer.service import Failure, Origin, Output, WriteCommand

# What a paused tenant's parked commands (and their deferred outcomes) say.
PAUSED = "tenant paused (Zoho limits)"


@dataclass
class HoldState:
    """Why the tenant's commands wait in this pass, if they do (TenantHolds decides)."""

    reason: HoldReason | None = None
    # For RECONNECT: the full message (what to run), which is also the park reason.
    message: str | None = None

    @property
    def held(self) -> bool:
        return self.reason is not None

    @property
    def park_reason(self) -> str:
        if self.reason is HoldReason.RECONNECT and self.message:
            return self.message
        if self.reason is not None and self.reason.opens_circuit:
            detail = f": {self.message}" if self.message else ""
            return f"tenant paused ({self.reason.value}{detail})"
        return PAUSED

    def enter(self, reason: HoldReason, message: str | None = None) -> None:
        """Reconnecting outranks a pause: new credentials are needed before any waiting helps."""
        if self.reason is not HoldReason.RECONNECT:
            self.reason, self.message = reason, message


@dataclass
class TenantRun:
    """What one tenant's share of a batch (or of a drain pass) produced."""

    tenant_id: str
    origins: dict[uuid.UUID, Origin]
    attempts: dict[uuid.UUID, int]
    from_parking: bool
    outputs: list[Output] = field(default_factory=list)
    parked: set[uuid.UUID] = field(default_factory=set)
    hold: HoldState = field(default_factory=HoldState)
    hashes: dict[uuid.UUID, bytes] = field(default_factory=dict)
    known: dict[tuple[str, str], str] = field(default_factory=dict)
    # Commands as they arrived (before parents were filled in): what gets parked.
    originals: dict[uuid.UUID, WriteCommand] = field(default_factory=dict)
    # Calls that failed retryably after their quick attempts, and whether any call of this
    # share went through: a fault of the whole org, or of a few records (TenantHolds decides).
    faulty: list[tuple[list[WriteCommand], Failure]] = field(default_factory=list)
    wrote: bool = False
    # Whether any call of this share got one of the tenant's slots: one that never did was
    # queued behind the tenant's own calls (its drain), which says nothing of Zoho's speed.
    called: bool = False
    # Every retryable Zoho error met by this share's calls, as it happened (calls.attempt).
    retry_errors: list[ZohoError] = field(default_factory=list)
    # What the batch wait counts (share.py): the share's time on its own org (its call slots,
    # token, Zoho's answers and retries). The rest of a share's time (PostgreSQL, this
    # process's CPU, other shares on the event loop) is the machine's: it says nothing of the org.
    on_org: WaitClock = field(default_factory=WaitClock)

    @property
    def settled(self) -> set[uuid.UUID]:
        """Commands with an outcome in this run, or parked."""
        done = {o.causation_id for _, o in self.outputs if isinstance(o, ZohoWriteOutcome)}
        return (
            {e for e in done if e is not None}
            | self.parked
            | {c.event_id for chunk, _ in self.faulty for c in chunk}
        )

    @property
    def finished(self) -> list[uuid.UUID]:
        """Commands with a final outcome (parked ones are not)."""
        done = {o.causation_id for _, o in self.outputs if isinstance(o, ZohoWriteOutcome)}
        return [e for e in done if e is not None and e not in self.parked]
