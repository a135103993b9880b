"""Pure write planning: dedupe, stale-version guard, batching, and outcome building."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from mlc_core.contracts import (
    DeadLetter,
    OutcomeStatus,
    Topics,
    ZohoDeleteCommand,
    ZohoUpsertCommand,
    ZohoWriteOutcome,
    caused_by,
)
from mlc_core.zoho.records import MAX_RECORDS_PER_CALL, RecordResult

OUTCOME_NAMESPACE = uuid.UUID("d2b0c1e4-8e7f-4f4e-a2c6-5f0a3b9e8d77")
ChunkKey = tuple[str, tuple[str, ...]]  # (module, duplicate-check fields in Zoho's order)
Output = tuple[str, ZohoWriteOutcome | DeadLetter]
WriteCommand = ZohoUpsertCommand | ZohoDeleteCommand


@dataclass(frozen=True)
class Origin:
    """Where a command sits in Kafka (dead letters carry it, so it can be found and replayed)."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Applied:
    """What the writer last wrote for a record."""

    version: str
    zoho_id: str
    content_hash: bytes | None = None
    # The command that wrote it, and the outcome published for it.
    event_id: uuid.UUID | None = None
    outcome: ZohoWriteOutcome | None = None

    def by(self, cmd: WriteCommand) -> ZohoWriteOutcome | None:
        """The stored outcome when `cmd` itself wrote this (a redelivery: no second write)."""
        return self.outcome if self.event_id == cmd.event_id else None


def content_hash(cmd: ZohoUpsertCommand) -> bytes:
    """What decides whether Zoho already holds this content: module, fields, lookups, key."""
    material = {
        "module": cmd.module,
        "external_field": cmd.external_field,
        "record": cmd.record,
        "lookups": [lookup.model_dump(mode="json") for lookup in cmd.lookups],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).digest()


def latest_per_record(commands: Iterable[ZohoUpsertCommand]) -> list[ZohoUpsertCommand]:
    """Keep only the newest source version of each record (a batch may hold several)."""
    newest: dict[tuple[str, str], ZohoUpsertCommand] = {}
    for cmd in commands:
        key = (cmd.module, cmd.external_value)
        if key not in newest or cmd.source_version >= newest[key].source_version:
            newest[key] = cmd
    return list(newest.values())


@dataclass
class Triage:
    """Commands sorted by what Zoho needs: a write, nothing (stale), nothing (unchanged),
    nothing (done: this very command was written, its outcome is published again)."""

    write: list[ZohoUpsertCommand]
    stale: list[ZohoUpsertCommand]
    unchanged: list[ZohoUpsertCommand]
    done: list[ZohoWriteOutcome] = field(default_factory=list)


def triage(commands: list[ZohoUpsertCommand], applied: dict[tuple[str, str], Applied]) -> Triage:
    """Older than what Zoho has: stale (replays converge). Same content as last written:
    unchanged (no call, no credits), unless the command is forced (reconcile --fix). The same
    version with new content (a replay after a mapping fix) is written; without a stored hash
    the same version counts as stale."""
    sorted_ = Triage([], [], [])
    for cmd in commands:
        done = applied.get((cmd.module, cmd.external_value))
        if done is not None and (outcome := done.by(cmd)) is not None:
            sorted_.done.append(outcome)
            continue
        getattr(sorted_, _verdict(cmd, done)).append(cmd)
    return sorted_


def _verdict(cmd: ZohoUpsertCommand, done: Applied | None) -> str:
    if done is None:
        return "write"
    if cmd.source_version < done.version:
        return "stale"
    if cmd.force:  # `mlc reconcile --fix`: Zoho was changed by hand, our store cannot know
        return "write"
    same_version = cmd.source_version == done.version
    if done.content_hash is None:
        return "stale" if same_version else "write"
    if done.content_hash == content_hash(cmd):
        return "stale" if same_version else "unchanged"
    return "write"


def chunks(commands: list[ZohoUpsertCommand]) -> Iterator[tuple[ChunkKey, list[ZohoUpsertCommand]]]:
    """Group by module and duplicate-check fields, at most 100 records per Zoho call."""
    groups: dict[ChunkKey, list[ZohoUpsertCommand]] = defaultdict(list)
    for cmd in commands:
        groups[(cmd.module, (cmd.external_field, *cmd.also_match))].append(cmd)
    for key, group in groups.items():
        for start in range(0, len(group), MAX_RECORDS_PER_CALL):
            yield key, group[start : start + MAX_RECORDS_PER_CALL]


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    retryable: bool
    field: str | None = None


def _outcome_id(cmd: WriteCommand, status: str, detail: str | None) -> uuid.UUID:
    return uuid.uuid5(OUTCOME_NAMESPACE, f"{cmd.event_id}:{status}:{detail}")


def success(
    cmd: ZohoUpsertCommand, result: RecordResult, recovered_from: str | None = None
) -> ZohoWriteOutcome:
    return ZohoWriteOutcome(
        event_id=_outcome_id(cmd, "ok", result.zoho_id),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=OutcomeStatus.SUCCEEDED,
        zoho_id=result.zoho_id,
        action="update" if result.action == "update" or _by_id(cmd) else "insert",
        recovered_from=recovered_from,
        warnings=cmd.warnings,
    )


def _by_id(cmd: ZohoUpsertCommand) -> bool:
    """An update of a record Sage names by its Zoho id (a deal), not an upsert."""
    return cmd.external_field == "id"


def not_updated(cmd: ZohoUpsertCommand, result: RecordResult) -> ZohoWriteOutcome:
    """A record named by a Zoho id that Zoho refused (no such deal): the Sage record itself
    was written, so this is a warning on its outcome, not a failure or a dead letter."""
    warning = (
        f"tenant {cmd.tenant_id}, {cmd.entity} {cmd.source_key}: {cmd.module}"
        f" {cmd.external_value} not updated, Zoho said {result.code}: {result.message}"
    )
    return ZohoWriteOutcome(
        event_id=_outcome_id(cmd, "not-updated", result.code),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=OutcomeStatus.SUCCEEDED,
        error_code=result.code,
        error_field=result.field,
        warnings=[*cmd.warnings, warning],
    )


def skipped(cmd: WriteCommand, applied_version: str) -> ZohoWriteOutcome:
    return ZohoWriteOutcome(
        event_id=_outcome_id(cmd, "stale", applied_version),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=OutcomeStatus.SKIPPED_STALE,
        error_message=f"Zoho already has source version {applied_version}",
    )


def _plain(cmd: WriteCommand, status: OutcomeStatus, detail: str, message: str) -> Output:
    outcome = ZohoWriteOutcome(
        event_id=_outcome_id(cmd, status.value, detail),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=status,
        error_message=message,
        retryable=status is OutcomeStatus.DEFERRED,
        # what the mapper left out still shows when Zoho already had the rest
        warnings=cmd.warnings if isinstance(cmd, ZohoUpsertCommand) else [],
    )
    return (Topics.ZOHO_OUTCOMES, outcome)


def unchanged(cmd: ZohoUpsertCommand) -> Output:
    return _plain(cmd, OutcomeStatus.SKIPPED_UNCHANGED, "same", "Zoho already holds this content")


def deferred(cmd: WriteCommand, reason: str) -> Output:
    """The command is kept (parked) and written later: not a failure, visible in the audit."""
    message = f"tenant {cmd.tenant_id}, {cmd.entity} {cmd.source_key}: deferred, {reason}"
    return _plain(cmd, OutcomeStatus.DEFERRED, reason, message)


def module_unavailable(cmd: ZohoUpsertCommand, *, first: bool, detail: str) -> list[Output]:
    """A module the org's edition lacks: one warning (dead letter) the first time, then a
    failed outcome per command, without calling Zoho."""
    fix = (
        f"add the {cmd.module} module to the org (a higher edition, or tab permission for the"
        f" connector's user), or stop syncing {cmd.entity} for tenant {cmd.tenant_id}; the"
        " writer checks again after a day, and `mlc replay` re-sends the skipped records"
    )
    failure = Failure(
        "MODULE_UNAVAILABLE",
        f"Zoho module {cmd.module} is not available in this org ({detail}); {fix}",
        retryable=False,
    )
    out = failed(cmd, failure)
    return out if first else out[:1]


def failed(
    cmd: WriteCommand, failure: Failure, origin: Origin | None = None
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
        original_topic=origin.topic if origin else Topics.ZOHO_COMMANDS,
        original=cmd.model_dump(mode="json"),
        original_partition=origin.partition if origin else None,
        original_offset=origin.offset if origin else None,
    )
    return [(Topics.ZOHO_OUTCOMES, outcome), (Topics.DEAD_LETTERS, letter)]


def outcomes_for(
    commands: list[ZohoUpsertCommand],
    results: list[RecordResult],
    origins: dict[uuid.UUID, Origin] | None = None,
    recovered_from: str | None = None,
) -> list[tuple[str, ZohoWriteOutcome | DeadLetter]]:
    produced: list[tuple[str, ZohoWriteOutcome | DeadLetter]] = []
    for cmd, result in zip(commands, results, strict=True):
        if result.ok:
            produced.append((Topics.ZOHO_OUTCOMES, success(cmd, result, recovered_from)))
        elif _by_id(cmd):
            produced.append((Topics.ZOHO_OUTCOMES, not_updated(cmd, result)))
        else:
            failure = Failure(result.code or "UNKNOWN", result.message or "", False, result.field)
            produced.extend(failed(cmd, failure, (origins or {}).get(cmd.event_id)))
    return produced
