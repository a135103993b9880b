"""Pure: check one tenant's hash chain of audit events (migration 0009_audit_chain).

Event n of a chain stores seq n, prev_hash (the hash of event n-1; 32 zero bytes for event 1)
and hash = sha256(prev_hash || digest), where digest is the database's audit_event_digest() of
the event's stored columns, recomputed at verification. A changed event no longer matches its
hash; a removed one leaves a gap in seq and a prev_hash nothing matches; an inserted one cannot
take a seq that exists, nor a prev_hash without rewriting every later event and the head.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

GENESIS = bytes(32)


def link_hash(prev_hash: bytes, digest: bytes) -> bytes:
    return hashlib.sha256(prev_hash + digest).digest()


@dataclass(frozen=True)
class Link:
    """One stored event as verification sees it: its chain columns and recomputed digest."""

    seq: int
    event_id: uuid.UUID
    recorded_at: datetime
    prev_hash: bytes
    hash: bytes
    digest: bytes


@dataclass(frozen=True)
class Break:
    seq: int
    event_id: uuid.UUID | None
    reason: str

    def describe(self) -> str:
        event = f" (event {self.event_id})" if self.event_id else ""
        return f"link {self.seq}{event}: {self.reason}"


@dataclass
class ChainCheck:
    """The running check of one chain, fed links in seq order."""

    chain: str
    expected_seq: int | None = None  # None: start wherever the range starts
    expected_prev: bytes | None = None
    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: bytes | None = None
    broken: Break | None = None

    def feed(self, link: Link) -> None:
        if self.broken is not None:
            return
        self.checked += 1
        self.first_seq = link.seq if self.first_seq is None else self.first_seq
        reason = self._fault(link)
        if reason:
            self.broken = Break(link.seq, link.event_id, reason)
            return
        self.expected_seq, self.expected_prev = link.seq + 1, link.hash
        self.last_seq, self.last_hash = link.seq, link.hash

    def _fault(self, link: Link) -> str | None:
        if self.expected_seq is not None and link.seq != self.expected_seq:
            missing = f"{self.expected_seq}" + (
                f"-{link.seq - 1}" if link.seq - 1 > self.expected_seq else ""
            )
            return f"events {missing} are missing (found {link.seq} next)"
        if self.expected_prev is not None and link.prev_hash != self.expected_prev:
            return "prev_hash does not match the hash of the event before it"
        if link_hash(link.prev_hash, link.digest) != link.hash:
            return "content changed: the event no longer matches its hash"
        return None

    def feed_all(self, links: Iterable[Link]) -> ChainCheck:
        for link in links:
            self.feed(link)
        return self

    def end_at_head(self, head_seq: int, head_hash: bytes) -> None:
        """The range reached the present: the last event must be the chain's recorded head."""
        if self.broken is not None:
            return
        if (self.last_seq or 0) < head_seq:
            self.broken = Break(
                (self.last_seq or 0) + 1,
                None,
                f"the chain's head is at {head_seq}, the last event found is"
                f" {self.last_seq or 'none'}: later events are missing",
            )
        elif self.last_seq is not None and self.last_hash != head_hash:
            self.broken = Break(self.last_seq, None, "the last event's hash is not the head's")

    @property
    def intact(self) -> bool:
        return self.broken is None

    def as_json(self) -> dict[str, object]:
        return {
            "tenant": self.chain or None,
            "intact": self.intact,
            "checked": self.checked,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "head_hash": self.last_hash.hex() if self.last_hash else None,
            "first_broken_link": None
            if self.broken is None
            else {
                "seq": self.broken.seq,
                "event_id": str(self.broken.event_id) if self.broken.event_id else None,
                "reason": self.broken.reason,
            },
        }


def report(checks: list[ChainCheck], unchained: int, orphans: list[str]) -> tuple[bool, str]:
    """Whether the log is intact, and the lines a person reads (`mlc audit verify`)."""
    lines = []
    for check in checks:
        name = check.chain or "(no tenant)"
        span = f"events {check.first_seq}-{check.last_seq}" if check.checked else "no events"
        if check.broken is None:
            lines.append(f"tenant {name}: intact, {check.checked} {span}")
        else:
            lines.append(f"tenant {name}: BROKEN at {check.broken.describe()}")
    if orphans:
        lines.append(
            f"event ids registered with no event (pre-claimed or removed): {', '.join(orphans)}"
        )
    if unchained:
        lines.append(f"{unchained} events stored before chaining began are not covered")
    if not checks:
        lines.append("no chained events")
    intact = all(c.intact for c in checks) and not orphans
    return intact, "\n".join(lines)
