"""Pure write planning: dedupe, stale-version guard, batching, and outcome building."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mlc_core.contracts import (
    DeadLetter,
    OutcomeStatus,
    Topics,
    ZohoUpsertCommand,
    ZohoWriteOutcome,
    caused_by,
)
from mlc_core.zoho.records import MAX_RECORDS_PER_CALL, RecordResult

OUTCOME_NAMESPACE = uuid.UUID("d2b0c1e4-8e7f-4f4e-a2c6-5f0a3b9e8d77")
ChunkKey = tuple[str, str]  # (module, external field)


def latest_per_record(commands: Iterable[ZohoUpsertCommand]) -> list[ZohoUpsertCommand]:
    """Keep only the newest source version of each record (a batch may hold several)."""
    newest: dict[tuple[str, str], ZohoUpsertCommand] = {}
    for cmd in commands:
        key = (cmd.module, cmd.external_value)
        if key not in newest or cmd.source_version >= newest[key].source_version:
            newest[key] = cmd
    return list(newest.values())


def split_stale(
    commands: list[ZohoUpsertCommand], applied: dict[tuple[str, str], str]
) -> tuple[list[ZohoUpsertCommand], list[ZohoUpsertCommand]]:
    """(to write, already applied or older than what Zoho has): replays converge this way."""
    fresh: list[ZohoUpsertCommand] = []
    stale: list[ZohoUpsertCommand] = []
    for cmd in commands:
        done = applied.get((cmd.module, cmd.external_value))
        (stale if done is not None and cmd.source_version <= done else fresh).append(cmd)
    return fresh, stale


def chunks(commands: list[ZohoUpsertCommand]) -> Iterator[tuple[ChunkKey, list[ZohoUpsertCommand]]]:
    """Group by module and external field, at most 100 records per Zoho call."""
    groups: dict[ChunkKey, list[ZohoUpsertCommand]] = defaultdict(list)
    for cmd in commands:
        groups[(cmd.module, cmd.external_field)].append(cmd)
    for key, group in groups.items():
        for start in range(0, len(group), MAX_RECORDS_PER_CALL):
            yield key, group[start : start + MAX_RECORDS_PER_CALL]


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    retryable: bool
    field: str | None = None


def _outcome_id(cmd: ZohoUpsertCommand, status: str, detail: str | None) -> uuid.UUID:
    return uuid.uuid5(OUTCOME_NAMESPACE, f"{cmd.event_id}:{status}:{detail}")


def success(cmd: ZohoUpsertCommand, result: RecordResult) -> ZohoWriteOutcome:
    return ZohoWriteOutcome(
        event_id=_outcome_id(cmd, "ok", result.zoho_id),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=OutcomeStatus.SUCCEEDED,
        zoho_id=result.zoho_id,
        action="update" if result.action == "update" else "insert",
    )


def skipped(cmd: ZohoUpsertCommand, applied_version: str) -> ZohoWriteOutcome:
    return ZohoWriteOutcome(
        event_id=_outcome_id(cmd, "stale", applied_version),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=OutcomeStatus.SKIPPED_STALE,
        error_message=f"Zoho already has source version {applied_version}",
    )


def failed(
    cmd: ZohoUpsertCommand, failure: Failure
) -> list[tuple[str, ZohoWriteOutcome | DeadLetter]]:
    """A failed outcome plus a dead letter holding the command, so it can be replayed."""
    message = (
        f"tenant {cmd.tenant_id}, {cmd.entity} {cmd.source_key}: Zoho {cmd.module} write failed,"
        f" {failure.code}{' on field ' + failure.field if failure.field else ''}: {failure.message}"
    )
    outcome = ZohoWriteOutcome(
        event_id=_outcome_id(cmd, "failed", failure.code),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=OutcomeStatus.FAILED,
        error_code=failure.code,
        error_field=failure.field,
        error_message=message,
        retryable=failure.retryable,
    )
    letter = DeadLetter(
        event_id=_outcome_id(cmd, "dead", failure.code),
        **caused_by(cmd),
        stage="zoho-writer",
        error_class=failure.code,
        error_message=message,
        field=failure.field,
        retryable=failure.retryable,
        original_topic=Topics.ZOHO_COMMANDS,
        original=cmd.model_dump(mode="json"),
    )
    return [(Topics.ZOHO_OUTCOMES, outcome), (Topics.DEAD_LETTERS, letter)]


def outcomes_for(
    commands: list[ZohoUpsertCommand], results: list[RecordResult]
) -> list[tuple[str, ZohoWriteOutcome | DeadLetter]]:
    produced: list[tuple[str, ZohoWriteOutcome | DeadLetter]] = []
    for cmd, result in zip(commands, results, strict=True):
        if result.ok:
            produced.append((Topics.ZOHO_OUTCOMES, success(cmd, result)))
        else:
            failure = Failure(result.code or "UNKNOWN", result.message or "", False, result.field)
            produced.extend(failed(cmd, failure))
    return produced
