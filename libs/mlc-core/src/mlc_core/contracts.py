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

SCHEMA_VERSION = 1


class Topics(StrEnum):
    """Kafka topics; one per stage so each service owns what it writes."""

    SAGE_CHANGES = "mlc.sage.changes"
    ZOHO_COMMANDS = "mlc.zoho.commands"
    ZOHO_OUTCOMES = "mlc.zoho.outcomes"
    DEAD_LETTERS = "mlc.deadletters"


class Entity(StrEnum):
    """Sage 100 record kinds we sync (see docs for the Zoho module each becomes)."""

    AR_CUSTOMER = "ar_customer"
    CUSTOMER_CONTACT = "customer_contact"
    AP_VENDOR = "ap_vendor"
    AP_OPEN_INVOICE = "ap_open_invoice"
    GL_ACCOUNT = "gl_account"
    GL_ACCOUNT_GROUP = "gl_account_group"
    SALES_ORDER = "sales_order"
    AR_INVOICE = "ar_invoice"


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utc_now() -> datetime:
    return datetime.now(UTC)


def record_key(tenant_id: str, entity: str, source_key: str) -> bytes:
    """Kafka key: one record's events share a partition, so they stay in order."""
    return f"{tenant_id}|{entity}|{source_key}".encode()


class Envelope(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=new_id)
    schema_version: int = SCHEMA_VERSION
    tenant_id: str = Field(min_length=1, max_length=64)
    occurred_at: datetime = Field(default_factory=utc_now)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None

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


class ZohoUpsertCommand(RecordEvent):
    """Upsert one record into a Zoho module, matched on an external key field."""

    event_type: Literal["zoho.upsert.requested"] = "zoho.upsert.requested"
    module: str
    external_field: str
    external_value: str
    source_version: str
    record: dict[str, Any]
    trigger: list[str] | None = Field(
        default=None, description="Zoho 'trigger' list; None lets Zoho run its defaults"
    )


class OutcomeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED_STALE = "skipped_stale"


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

    @property
    def kafka_key(self) -> bytes:
        if self.entity is None or self.source_key is None:
            return self.tenant_id.encode()
        return record_key(self.tenant_id, self.entity, self.source_key)


Event = Annotated[
    SageRecordChanged | ZohoUpsertCommand | ZohoWriteOutcome | DeadLetter,
    Field(discriminator="event_type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def encode(event: Envelope) -> bytes:
    return event.model_dump_json().encode()


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
