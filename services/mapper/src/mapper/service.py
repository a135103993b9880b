"""Pure mapping: a raw Sage change event becomes a Zoho upsert command, or a MappingError.

No I/O here; tests call these functions directly.
"""

from __future__ import annotations

import uuid
from typing import Any

from mlc_core.contracts import (
    DeadLetter,
    Entity,
    SageRecordChanged,
    Topics,
    ZohoUpsertCommand,
    caused_by,
)

COMMAND_NAMESPACE = uuid.UUID("0b6d8e43-55a1-4c0a-8f55-2f3b0f1b7c21")
ACCOUNT_EXTERNAL_FIELD = "Sage_Customer_No"
ACCOUNT_NAME_MAX = 200


class MappingError(ValueError):
    """A Sage record that cannot become a valid Zoho record; `field` is the Sage column."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def _text(record: dict[str, Any], column: str) -> str | None:
    value = record.get(column)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError(column, f"expected text, got {type(value).__name__}")
    return value.strip() or None


def _phone(record: dict[str, Any]) -> str | None:
    number, ext = _text(record, "TelephoneNo"), _text(record, "TelephoneExt")
    if number and ext:
        return f"{number} x{ext}"
    return number


def _street(record: dict[str, Any]) -> str | None:
    lines = [_text(record, f"AddressLine{i}") for i in (1, 2, 3)]
    return ", ".join(line for line in lines if line) or None


def map_ar_customer(record: dict[str, Any], key: str) -> dict[str, Any]:
    """AR_Customer columns -> Zoho Accounts fields (None values are left out)."""
    name = _text(record, "CustomerName")
    if name is None:
        raise MappingError("CustomerName", "is empty; Zoho Accounts require Account_Name")
    account = {
        "Account_Name": name[:ACCOUNT_NAME_MAX],
        "Account_Number": key,
        "Phone": _phone(record),
        "Fax": _text(record, "FaxNo"),
        "Website": _text(record, "URLAddress"),
        "Billing_Street": _street(record),
        "Billing_City": _text(record, "City"),
        "Billing_State": _text(record, "State"),
        "Billing_Code": _text(record, "ZipCode"),
        "Billing_Country": _text(record, "CountryCode"),
        ACCOUNT_EXTERNAL_FIELD: key,
    }
    return {field: value for field, value in account.items() if value is not None}


def to_command(event: SageRecordChanged) -> ZohoUpsertCommand:
    if event.entity is not Entity.AR_CUSTOMER:
        raise MappingError("entity", f"no mapping for {event.entity}")
    return ZohoUpsertCommand(
        # Deterministic: redelivering the raw event yields the same command id.
        event_id=uuid.uuid5(COMMAND_NAMESPACE, f"{event.event_id}:command"),
        **caused_by(event),
        module="Accounts",
        external_field=ACCOUNT_EXTERNAL_FIELD,
        external_value=event.source_key,
        source_version=event.source_version,
        record=map_ar_customer(event.record, event.source_key),
    )


def mapping_failure(event: SageRecordChanged, error: MappingError) -> DeadLetter:
    return DeadLetter(
        event_id=uuid.uuid5(COMMAND_NAMESPACE, f"{event.event_id}:dead-letter"),
        **caused_by(event),
        stage="mapper",
        error_class="MappingError",
        error_message=(
            f"tenant {event.tenant_id}, {event.entity} {event.source_key}: cannot map, {error}"
        ),
        field=error.field,
        original_topic=Topics.SAGE_CHANGES,
        original=event.model_dump(mode="json"),
    )


def map_event(event: SageRecordChanged) -> tuple[str, ZohoUpsertCommand | DeadLetter]:
    """The one message a raw event produces: a command, or a dead letter saying why not."""
    try:
        return Topics.ZOHO_COMMANDS, to_command(event)
    except MappingError as error:
        return Topics.DEAD_LETTERS, mapping_failure(event, error)
