"""Injected faults per org: an error status for a while (or N calls), latency, and answers
that fit no documented shape (a 200 whose body is empty, has no results, or is cut short)."""

from __future__ import annotations

from dataclasses import dataclass

from zoho_emulator.clock import Clock

# A 200 with a body that fits no documented shape. Zoho has answered an insert with an empty
# body and no error (zoho-crm.md §6.1, SCHM-22); the others are the same failure seen by a
# client at another moment: no per-record results, or a body cut off mid-JSON.
ANSWERS = {
    "empty": "",
    "no_data": '{"data": []}',
    "malformed": '{"data": [{"code": "SUCCESS", "details": {"id": ',
}


class MalformedAnswer(Exception):
    """Raised by the gate: the call is answered 200 with `body` instead of Zoho's answer."""

    def __init__(self, body: str) -> None:
        super().__init__("injected malformed answer")
        self.body = body


@dataclass
class Fault:
    status: int | None = None
    status_until: float | None = None  # None: until cleared
    remaining_calls: int | None = None  # None: unlimited
    latency_ms: int = 0
    latency_until: float | None = None
    answer: str | None = None
    answer_until: float | None = None
    answer_calls: int | None = None

    def describe(self, org_id: str, now: float) -> dict[str, object]:
        def left(until: float | None) -> float | None:
            return None if until is None else max(0.0, round(until - now, 3))

        return {
            "org": org_id,
            "status": self.status,
            "status_seconds_left": left(self.status_until),
            "remaining_calls": self.remaining_calls,
            "latency_ms": self.latency_ms,
            "latency_seconds_left": left(self.latency_until),
            "answer": self.answer,
            "answer_seconds_left": left(self.answer_until),
            "answer_remaining_calls": self.answer_calls,
        }


class FaultTable:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._faults: dict[str, Fault] = {}

    def set_status(
        self, org_id: str, status: int, seconds: float | None, calls: int | None
    ) -> None:
        fault = self._faults.setdefault(org_id, Fault())
        fault.status = status
        fault.status_until = None if seconds is None else self._clock.now() + seconds
        fault.remaining_calls = calls

    def set_latency(self, org_id: str, latency_ms: int, seconds: float | None) -> None:
        fault = self._faults.setdefault(org_id, Fault())
        fault.latency_ms = latency_ms
        fault.latency_until = None if seconds is None else self._clock.now() + seconds

    def set_answer(
        self, org_id: str, answer: str, seconds: float | None, calls: int | None
    ) -> None:
        if answer not in ANSWERS:
            raise ValueError(f"answer must be one of {sorted(ANSWERS)}")
        fault = self._faults.setdefault(org_id, Fault())
        fault.answer = answer
        fault.answer_until = None if seconds is None else self._clock.now() + seconds
        fault.answer_calls = calls

    def take_answer(self, org_id: str) -> str | None:
        """The malformed answer to give this call instead of Zoho's, if any."""
        fault = self._faults.get(org_id)
        if fault is None or fault.answer is None:
            return None
        expired = fault.answer_until is not None and fault.answer_until <= self._clock.now()
        if expired or fault.answer_calls == 0:
            fault.answer = None
            return None
        if fault.answer_calls is not None:
            fault.answer_calls -= 1
        return fault.answer

    def clear(self, org_id: str | None = None) -> None:
        if org_id is None:
            self._faults.clear()
        else:
            self._faults.pop(org_id, None)

    def take_status(self, org_id: str) -> int | None:
        """The status to fail this call with, if any (consumes a counted fault)."""
        fault = self._faults.get(org_id)
        if fault is None or fault.status is None:
            return None
        expired = fault.status_until is not None and fault.status_until <= self._clock.now()
        if expired or fault.remaining_calls == 0:
            fault.status = None
            return None
        if fault.remaining_calls is not None:
            fault.remaining_calls -= 1
        return fault.status

    def latency_seconds(self, org_id: str) -> float:
        fault = self._faults.get(org_id)
        if fault is None or not fault.latency_ms:
            return 0.0
        if fault.latency_until is not None and fault.latency_until <= self._clock.now():
            fault.latency_ms = 0
            return 0.0
        return fault.latency_ms / 1000

    def describe(self) -> list[dict[str, object]]:
        now = self._clock.now()
        return [fault.describe(org_id, now) for org_id, fault in sorted(self._faults.items())]
