"""Message contracts shared by every service.

Every message on Kafka is one of the event models below, serialised as JSON. Each carries an
envelope (id, tenant, schema version, occurrence time, causation and correlation ids) so the audit
log can link a raw Sage change to the command it produced and to Zoho's answer.

Ordering: every message about one record uses the same Kafka key (`record_key`), so a record's
events stay in one partition and are processed in order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mlc_core.entities import Entity as Entity

SCHEMA_VERSION = 1


class Topics(StrEnum):
    """Kafka topics; one per stage so each service owns what it writes."""

    SAGE_CHANGES = "mlc.sage.changes"
    ZOHO_COMMANDS = "mlc.zoho.commands"
    ZOHO_OUTCOMES = "mlc.zoho.outcomes"
    DEAD_LETTERS = "mlc.deadletters"
    SAGE_POLL_ATTEMPTS = "mlc.sage.poll_attempts"


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utc_now() -> datetime:
    return datetime.now(UTC)


def record_key(tenant_id: str, entity: str, source_key: str) -> bytes:
    """Kafka key: one record's events share a partition, so they stay in order."""
    return f"{tenant_id}|{entity}|{source_key}".encode()


class ReplayMarker(BaseModel):
    """Set on an event an operator re-published (`mlc replay`, `mlc reconcile --fix`).

    The replayed event has a new id and `causation_id` = the original's id; this marker says so
    explicitly, so the audit trail shows replays as replays.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    replay_id: uuid.UUID = Field(description="one id per replay run")
    of_event_id: uuid.UUID = Field(description="the stored event this one re-publishes")
    reason: str = Field(default="replay", max_length=200)


class Envelope(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=new_id)
    schema_version: int = SCHEMA_VERSION
    tenant_id: str = Field(min_length=1, max_length=64)
    occurred_at: datetime = Field(default_factory=utc_now)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    replay: ReplayMarker | None = None

    @property
    def kafka_key(self) -> bytes:
        return self.tenant_id.encode()


class RecordEvent(Envelope):
    """An event about one Sage record; keyed so that record's events stay in order."""

    entity: Entity
    source_key: str = Field(min_length=1, max_length=64)

    @property
    def kafka_key(self) -> bytes:
        return record_key(self.tenant_id, self.entity, self.source_key)


class SageRecordChanged(RecordEvent):
    """A Sage record as the poller saw it (raw Sage column names and formats)."""

    event_type: Literal["sage.record.changed"] = "sage.record.changed"
    company_code: str
    source_version: str = Field(description="Sage stamp as 'YYYYMMDD HH.hhhhhhh', sortable")
    record: dict[str, Any]
    change: Literal["created", "updated"] | None = Field(
        default=None,
        description="'created' when DateCreated/TimeCreated equal the update stamp (a new "
        "record), 'updated' otherwise; None from producers that did not tell",
    )
    renumbered_from: str | None = Field(
        default=None,
        description="the source_key this record had before Sage renumbered it (the key"
        " reconciliation found the old key gone and this one new with the same content)",
    )


class SageRecordDeleted(RecordEvent):
    """A record that is no longer in Sage (deleted, or renumbered: old key gone, new key added).

    Stamps never show deletes, so the poller's periodic key reconciliation emits this when a key
    it has emitted before is missing from the agent's full key set. Published on
    `mlc.sage.changes` with the same Kafka key as the record's changes, so it stays in order.
    """

    event_type: Literal["sage.record.deleted"] = "sage.record.deleted"
    company_code: str
    last_version: str | None = Field(
        default=None, description="the last source_version emitted for this key, if known"
    )
    reason: Literal["missing_from_key_set"] = "missing_from_key_set"


class SagePollAttempt(Envelope):
    """One failed or recovered attempt to poll a tenant's entity (lock, agent outage, ...).

    On `mlc.sage.poll_attempts`; the audit log keeps them, so failures and recoveries are
    visible per tenant and entity.
    """

    event_type: Literal["sage.poll.attempt"] = "sage.poll.attempt"
    entity: Entity
    attempt: int = Field(ge=1)
    outcome: Literal["failed", "recovered", "gave_up"]
    operation: str = Field(description="e.g. 'changes', 'keys', 'fetch'")
    error_class: str | None = None
    error_message: str | None = None
    retryable: bool = True
    retry_in_seconds: float | None = None


class ZohoLookup(BaseModel):
    """A lookup the writer resolves before writing (the mapper knows only Sage keys).

    The writer finds the record of `module` whose `external_field` equals `external_value` and
    sets `path` in the command's record to `{"id": <its Zoho id>}`. `path` is a field API name
    ("Account_Name") or, inside a line-item subform, "<subform>.<row index>.<field>"
    ("Ordered_Items.0.Product_Name"). Required: the write waits until the parent exists (it
    may still be on its way). Not required: the field is left out when the parent is missing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    module: str
    external_field: str
    external_value: str
    required: bool = True


class ZohoUpsertCommand(RecordEvent):
    """Upsert one record into a Zoho module, matched on an external key field."""

    event_type: Literal["zoho.upsert.requested"] = "zoho.upsert.requested"
    module: str
    external_field: str
    external_value: str
    source_version: str
    record: dict[str, Any]
    trigger: list[str] | None = Field(
        default_factory=list,
        description="Zoho 'trigger' list; empty by default so writes and replays never fire"
        " workflows, approvals or blueprints; None lets Zoho run all of them",
    )
    lookups: list[ZohoLookup] = Field(
        default_factory=list, description="parents to resolve into record fields first"
    )
    force: bool = Field(
        default=False,
        description="write even when the writer's store says Zoho already has this content"
        " (`mlc reconcile --fix`: the record was changed in Zoho by hand)",
    )
    also_match: list[str] = Field(
        default_factory=list,
        description="more unique fields Zoho checks, in order, after `external_field` (an AR"
        " invoice finds the record its open invoice created under Sage_Open_Invoice_Key)",
    )
    renumbered_from: str | None = Field(
        default=None,
        description="the external value the record had before Sage renumbered it: the writer"
        " first moves the Zoho record found under it to `external_value` (same record id, so"
        " everything attached to it stays), then upserts",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="what the mapper left out of an otherwise good record, e.g. a deal id"
        " that is not one; the writer carries them to the outcome",
    )


class ZohoDeleteCommand(RecordEvent):
    """A record gone from Sage: deactivate its Zoho record (default) or delete it.

    Deactivate updates only an existing record (found by `external_field` = `external_value`)
    with the `deactivate` fields, and never creates one; delete removes it. A record Zoho does
    not have is already in the wanted state, so both then succeed without a change.
    """

    event_type: Literal["zoho.delete.requested"] = "zoho.delete.requested"
    module: str
    external_field: str
    external_value: str
    source_version: str
    mode: Literal["deactivate", "delete"] = "deactivate"
    deactivate: dict[str, Any] = Field(default_factory=dict)


class OutcomeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED_STALE = "skipped_stale"
    # Zoho already holds exactly this content: no call, no credits.
    SKIPPED_UNCHANGED = "skipped_unchanged"
    # Not written yet, not failed: the tenant is paused (429, credits exhausted) or a parent
    # record is missing; the writer keeps the command and writes it later.
    DEFERRED = "deferred"


class ZohoWriteOutcome(RecordEvent):
    """Zoho's answer for one command."""

    event_type: Literal["zoho.write.outcome"] = "zoho.write.outcome"
    module: str
    external_value: str
    source_version: str
    status: OutcomeStatus
    zoho_id: str | None = None
    action: Literal["insert", "update"] | None = None
    error_code: str | None = None
    error_field: str | None = None
    error_message: str | None = None
    retryable: bool = False
    recovered_from: str | None = Field(
        default=None,
        description="what the writer rode out before this answer: 5xx or timeouts retried,"
        " an access token refused and refreshed, the org's api_domain moved",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="written, but not all of it: the command's warnings, and the writer's"
        " own (a deal id Zoho does not have: the record is written without its deal)",
    )


class DeadLetter(Envelope):
    """A message a stage could not process; kept whole so it can be replayed.

    The error message names tenant, entity, key and field, so an operator knows what to fix.
    """

    event_type: Literal["mlc.dead_letter"] = "mlc.dead_letter"
    entity: Entity | None = None
    source_key: str | None = None
    stage: str
    error_class: str
    error_message: str
    field: str | None = None
    retryable: bool = False
    original_topic: str
    original: dict[str, Any]
    # Where the original sits in Kafka, when the stage consumed it from there.
    original_partition: int | None = None
    original_offset: int | None = None

    @property
    def kafka_key(self) -> bytes:
        if self.entity is None or self.source_key is None:
            return self.tenant_id.encode()
        return record_key(self.tenant_id, self.entity, self.source_key)


Event = Annotated[
    SageRecordChanged
    | SageRecordDeleted
    | SagePollAttempt
    | ZohoUpsertCommand
    | ZohoDeleteCommand
    | ZohoWriteOutcome
    | DeadLetter,
    Field(discriminator="event_type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def encode(event: Envelope) -> bytes:
    # The bytes model_dump_json() makes, without its round trip through str (a message per
    # record: the mapper encodes tens of thousands a second).
    return event.__pydantic_serializer__.to_json(event)


def decode(raw: bytes) -> Event:
    """Parse any event; raises pydantic.ValidationError on a malformed message."""
    return EVENT_ADAPTER.validate_json(raw)


def caused_by(parent: RecordEvent) -> dict[str, Any]:
    """Envelope fields for an event caused by `parent` (same record, same correlation)."""
    return {
        "tenant_id": parent.tenant_id,
        "correlation_id": parent.correlation_id,
        "causation_id": parent.event_id,
        "entity": parent.entity,
        "source_key": parent.source_key,
    }
