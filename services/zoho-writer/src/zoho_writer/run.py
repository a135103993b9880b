"""What one tenant's share of a batch (or of a drain pass) produced, and its hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from mlc_core.contracts import ZohoWriteOutcome

from zoho_writer.hold_policy import HoldReason
from zoho_writer.service import Origin, Output, WriteCommand

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
        return self.message if self.reason is HoldReason.RECONNECT and self.message else PAUSED

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

    @property
    def finished(self) -> list[uuid.UUID]:
        """Commands with a final outcome (parked ones are not)."""
        done = {o.causation_id for _, o in self.outputs if isinstance(o, ZohoWriteOutcome)}
        return [e for e in done if e is not None and e not in self.parked]
