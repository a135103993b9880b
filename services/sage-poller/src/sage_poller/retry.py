"""Retries of agent calls on retryable Sage errors, each attempt and the recovery audited.

Policy: jittered exponential backoff (Backoff from mlc_core.kafka), up to `attempts` tries per
call. A record lock usually clears in seconds (a user closing a maintenance screen) and the
agent already retried briefly, so a few tries spaced seconds apart ride it out; past that the
poll stops here and the next cycle starts again from the same watermark, so nothing is lost and
one stuck tenant/entity never holds the others (each has its own loop).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from mlc_core.contracts import Entity, SagePollAttempt, Topics
from mlc_core.kafka import Backoff, Publisher
from mlc_core.logging import ctx
from mlc_core.sage.errors import SageRetryableError
from mlc_core.waits import WaitClock

log = logging.getLogger(__name__)
T = TypeVar("T")


class PollGaveUp(Exception):
    """Retries exhausted; the poll of this tenant/entity resumes next cycle."""


@dataclass
class Retrier:
    tenant_id: str
    entity: Entity
    publisher: Publisher
    attempts: int = 5
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=30.0))
    # The poll's time on Sage: its agent calls and the waits between their retries (a record
    # lock is Sage's). poller_status keeps it beside the poll's whole time.
    on_sage: WaitClock = field(default_factory=WaitClock)

    async def call(self, operation: str, work: Callable[[], Awaitable[T]]) -> T:
        correlation = uuid.uuid4()
        for attempt in range(1, self.attempts + 1):
            try:
                with self.on_sage.waiting():
                    result = await work()
            except SageRetryableError as exc:
                last = attempt == self.attempts
                delay = None if last else self.backoff.delay(attempt)
                outcome: Literal["failed", "gave_up"] = "gave_up" if last else "failed"
                await self._record(correlation, operation, attempt, outcome, exc, delay)
                if last:
                    raise PollGaveUp(f"{operation}: {exc}") from exc
                with self.on_sage.waiting():
                    await asyncio.sleep(delay or 0)
                continue
            if attempt > 1:
                await self._record(correlation, operation, attempt, "recovered", None, None)
            return result
        raise AssertionError("unreachable")

    async def _record(
        self,
        correlation: uuid.UUID,
        operation: str,
        attempt: int,
        outcome: Literal["failed", "recovered", "gave_up"],
        exc: Exception | None,
        delay: float | None,
    ) -> None:
        event = SagePollAttempt(
            tenant_id=self.tenant_id,
            correlation_id=correlation,
            entity=self.entity,
            attempt=attempt,
            outcome=outcome,
            operation=operation,
            error_class=type(exc).__name__ if exc else None,
            error_message=str(exc) if exc else None,
            retry_in_seconds=round(delay, 3) if delay is not None else None,
        )
        level = logging.INFO if outcome == "recovered" else logging.WARNING
        log.log(
            level,
            "sage %s %s",
            operation,
            outcome,
            extra=ctx(tenant=self.tenant_id, entity=self.entity, attempt=attempt),
        )
        await self.publisher.publish_all([(Topics.SAGE_POLL_ATTEMPTS, event)])
