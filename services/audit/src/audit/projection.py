"""Pure: fold newly stored audit rows into per-record deltas for the `audit_records` projection.

The deltas are merged in SQL (store.py) so that the result does not depend on the order in
which the audit's partitions are handled: versions take the greatest, failure counts add up,
and the last outcome is the one that occurred last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.service import AuditRow

RecordKey = tuple[str, str, str]  # (tenant, entity, Sage key)
# The writer's dead letters repeat a failed outcome (they carry the command for replay): the
# outcome is what counts, or every Zoho failure would be counted twice.
OUTCOME_STAGES_COUNTED_ELSEWHERE = frozenset({"zoho-writer"})


@dataclass
class RecordDelta:
    key: RecordKey
    module: str | None = None
    zoho_id: str | None = None
    source_version: str | None = None
    last_outcome: str | None = None
    last_outcome_at: datetime | None = None
    failures: int = 0
    last_error_code: str | None = None
    last_error: str | None = None
    last_event_at: datetime | None = None

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            *self.key,
            self.module,
            self.zoho_id,
            self.source_version,
            self.last_outcome,
            self.last_outcome_at,
            self.failures,
            self.last_error_code,
            self.last_error,
            self.last_event_at,
        )


def record_key_of(row: AuditRow) -> RecordKey | None:
    if row.tenant_id is None or row.entity is None or row.source_key is None:
        return None
    return (row.tenant_id, row.entity, row.source_key)


def fold(rows: Iterable[AuditRow]) -> list[RecordDelta]:
    """One delta per record touched by `rows`, sorted by key (a stable lock order in SQL)."""
    deltas: dict[RecordKey, RecordDelta] = {}
    ordered = sorted(rows, key=lambda r: (r.occurred_at is None, r.occurred_at or 0, r.offset))
    for row in ordered:
        key = record_key_of(row)
        if key is not None:
            apply(deltas.setdefault(key, RecordDelta(key)), row)
    return [deltas[k] for k in sorted(deltas)]


def apply(delta: RecordDelta, row: AuditRow) -> None:
    payload = row.payload
    delta.last_event_at = _later(delta.last_event_at, row.occurred_at)
    version = payload.get("source_version")
    if isinstance(version, str) and (delta.source_version or "") < version:
        delta.source_version = version
    if isinstance(payload.get("module"), str):
        delta.module = payload["module"]
    if row.event_type == "zoho.write.outcome":
        _apply_outcome(delta, row)
    elif (
        row.event_type == "mlc.dead_letter"
        and payload.get("stage") not in OUTCOME_STAGES_COUNTED_ELSEWHERE
    ):
        code = str(payload.get("error_class") or "DEAD_LETTER")
        _fail(delta, row, code, payload.get("error_message"))


def _apply_outcome(delta: RecordDelta, row: AuditRow) -> None:
    status = row.payload.get("status")
    if status == "succeeded":
        delta.zoho_id = row.payload.get("zoho_id") or delta.zoho_id
        _set_outcome(delta, row, "succeeded")
    elif status == "failed":
        code = str(row.payload.get("error_code") or "UNKNOWN")
        _fail(delta, row, code, row.payload.get("error_message"))
    # skipped_stale / skipped_unchanged: Zoho already has this version (or a newer one, or
    # this very content): nothing changed, so the record's last real outcome stands. deferred:
    # the writer keeps the command and writes it later; that later outcome is the one to show.


def _fail(delta: RecordDelta, row: AuditRow, code: str, message: Any) -> None:
    delta.failures += 1
    delta.last_error_code = code
    delta.last_error = str(message)[:2000] if message is not None else None
    _set_outcome(delta, row, "failed")


def _set_outcome(delta: RecordDelta, row: AuditRow, outcome: str) -> None:
    if delta.last_outcome_at is None or (row.occurred_at or delta.last_outcome_at) >= (
        delta.last_outcome_at
    ):
        delta.last_outcome = outcome
        delta.last_outcome_at = row.occurred_at or delta.last_outcome_at


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
