"""Pure mapping: a raw Sage event becomes Zoho commands, or one dead letter saying why not.

No I/O here; tests call these functions directly. A record that cannot be mapped never holds
back any other: its dead letter names tenant, entity, key, field and reason, and keeps the raw
event whole so it can be replayed after the record (or the tenant's map) is fixed.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from mlc_core.contracts import (
    SCHEMA_VERSION,
    DeadLetter,
    Entity,
    Envelope,
    SageRecordChanged,
    SageRecordDeleted,
    Topics,
    ZohoDeleteCommand,
    ZohoUpsertCommand,
    caused_by,
)
from mlc_core.entities.zoho import ZOHO_TARGETS

from mapper.drafts import (
    DEAL_MODULE,
    DELETED_STATUS,
    EXTERNAL_FIELDS,
    OPEN_INVOICE_FIELD,
    STATUS_FIELD,
    Draft,
    Options,
)
from mapper.engine import CompiledMapping, compile_mapping
from mapper.fields import RecordMapping
from mapper.masters import MASTER_DATA
from mapper.orders import DEAL_UPDATE, DOCUMENTS, PRODUCT
from mapper.profile import DEFAULT_MAP, TenantMap
from mapper.reference import REFERENCE_DATA
from mapper.values import MappingError

COMMAND_NAMESPACE = uuid.UUID("0b6d8e43-55a1-4c0a-8f55-2f3b0f1b7c21")
# RFC 4122 variant and version 5 bits, as uuid.UUID(bytes=..., version=5) sets them.
_UUID5_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID5_SET = (0x8000 << 48) | (5 << 76)
_NAMESPACE_BYTES = COMMAND_NAMESPACE.bytes
ACCOUNT_EXTERNAL_FIELD = EXTERNAL_FIELDS["Accounts"]
Output = tuple[str, Envelope]
PURGED_OPEN_INVOICE: dict[str, Any] = {"Sage_Balance": 0.0, "Sage_Invoice_Status": "Closed"}

# The Zoho module an entity's own record goes to (deletes need it without a record).
MODULES: dict[Entity, str] = {entity: target.module for entity, target in ZOHO_TARGETS.items()}


# Every entity with a default mapping: the one per-entity table written by hand besides the
# entity definitions (mlc_core.entities).
MAPPED_ENTITIES = frozenset([*MASTER_DATA, *REFERENCE_DATA, *DOCUMENTS])


def default_mapping(entity: Entity, options: Options) -> RecordMapping:
    """The entity's default mapping (mapper.fields); documents' depend on the tenant's
    options (its invoice module, its deal column)."""
    if entity in MASTER_DATA:
        return MASTER_DATA[entity]
    if entity in REFERENCE_DATA:
        return REFERENCE_DATA[entity]
    return DOCUMENTS[entity](options)


def compiled_mapping(entity: Entity, tenant_map: TenantMap) -> CompiledMapping:
    """The entity's mapping compiled with the tenant's map, compiled on first use."""
    compiled: CompiledMapping | None = tenant_map.compiled.get(entity)
    if compiled is None:
        mapping = default_mapping(entity, tenant_map.options)
        overrides = tenant_map.entities.get(entity)
        compiled = compile_mapping(mapping, overrides, tenant_map.codes)
        tenant_map.compiled[entity] = compiled
    return compiled


def written_fields(entity: Entity, tenant_map: TenantMap = DEFAULT_MAP) -> dict[str, list[str]]:
    """Zoho module -> the fields the entity's records write there with the tenant's map (its
    own module's, then its products'): what the org must have, or Zoho drops the values."""
    compiled = compiled_mapping(entity, tenant_map)
    written = {compiled.module: list(compiled.fields)}
    if compiled.module in ("Sales_Orders", "Invoices"):  # line items point at products
        written["Products"] = sorted(PRODUCT.field_names())
    if entity is Entity.AR_INVOICE:  # invoicing moves the deal behind it
        written[DEAL_MODULE] = list(DEAL_UPDATE)
    return written


def drafts_for(event: SageRecordChanged, tenant_map: TenantMap = DEFAULT_MAP) -> list[Draft]:
    """The checked Zoho records for one raw event; raises MappingError on the first problem."""
    return compiled_mapping(event.entity, tenant_map).drafts(event.record, event.source_key)


def fast_uuid5(sha1_digest: bytes) -> uuid.UUID:
    """uuid.UUID(bytes=sha1_digest[:16], version=5) in half the time: a command id per
    record is computed this way (UUID.__init__ checks arguments it is not given)."""
    value = int.from_bytes(sha1_digest[:16]) & _UUID5_CLEAR | _UUID5_SET
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made


def _command_id(prefix: str, draft: Draft) -> uuid.UUID:
    """uuid5(COMMAND_NAMESPACE, f"{event_id}:command:{module}:{key}") as uuid.uuid5 computes
    it, without re-deriving the namespace's bytes for every command; `prefix` is the part
    before the module (_id_prefix), the same for every command of an event."""
    name = f"{prefix}{draft.module}:{draft.external_value}"
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()
    return fast_uuid5(digest)


def _id_prefix(event: SageRecordChanged) -> str:
    return f"{event.event_id}:command:"


def _is_own_record(event: SageRecordChanged, draft: Draft) -> bool:
    """The entity's own record (its module, under its source key), not a product or parent."""
    return draft.module == MODULES[event.entity] and draft.external_value == event.source_key


def _command(event: SageRecordChanged, draft: Draft, prefix: str) -> ZohoUpsertCommand:
    # Validated from a dict: pydantic's cheapest way to a full model here (model_construct
    # resolves every field's default and alias per call). Every field is given, so the
    # command serialises with all of them, in the model's order.
    return ZohoUpsertCommand.model_validate(
        {
            # Deterministic: redelivering the raw event yields the same commands.
            "event_id": _command_id(prefix, draft),
            "schema_version": SCHEMA_VERSION,
            "tenant_id": event.tenant_id,
            # The change's time, not the mapping's: a redelivered event maps to the same
            # command.
            "occurred_at": event.occurred_at,
            "correlation_id": event.correlation_id,
            "causation_id": event.event_id,
            "replay": None,
            "entity": event.entity,
            "source_key": event.source_key,
            "event_type": "zoho.upsert.requested",
            "module": draft.module,
            "external_field": draft.external_field,
            "external_value": draft.external_value,
            "source_version": event.source_version,
            "record": draft.record,
            "trigger": [],
            "lookups": draft.lookups,
            "force": False,
            "also_match": draft.also_match,
            # Only the entity's own record moves to the new key.
            "renumbered_from": event.renumbered_from if _is_own_record(event, draft) else None,
            "warnings": draft.warnings,
        }
    )


def to_commands(
    event: SageRecordChanged, tenant_map: TenantMap = DEFAULT_MAP
) -> list[ZohoUpsertCommand]:
    """Parents first (an order's products before the order): the writer keeps the order."""
    drafts = drafts_for(event, tenant_map)
    prefix = _id_prefix(event)  # once per event: an order has a command per product too
    return [_command(event, draft, prefix) for draft in drafts]


def to_command(event: SageRecordChanged, tenant_map: TenantMap = DEFAULT_MAP) -> ZohoUpsertCommand:
    """The entity's own command (products for an order come before it, its deal after)."""
    return next(c for c in reversed(to_commands(event, tenant_map)) if c.module != DEAL_MODULE)


def mapping_failure(event: SageRecordChanged | SageRecordDeleted, error: Exception) -> DeadLetter:
    field = error.field if isinstance(error, MappingError) else None
    reason = str(error) if isinstance(error, MappingError) else f"{type(error).__name__}: {error}"
    return DeadLetter(
        event_id=uuid.uuid5(COMMAND_NAMESPACE, f"{event.event_id}:dead-letter"),
        **caused_by(event),
        stage="mapper",
        error_class=type(error).__name__,
        error_message=(
            f"tenant {event.tenant_id}, {event.entity} {event.source_key}: cannot map, {reason}"
        ),
        field=field,
        original_topic=Topics.SAGE_CHANGES,
        original=event.model_dump(mode="json"),
    )


def deletion(event: SageRecordDeleted, tenant_map: TenantMap = DEFAULT_MAP) -> ZohoDeleteCommand:
    """Deactivate by default (Sage_Status = 'Deleted in Sage'); delete if the tenant chose to.

    An open AR invoice leaving AR_OpenInvoice was paid and purged: the invoice itself still
    exists (in history), so its Zoho record is closed at balance 0, whatever the delete mode.
    """
    module = MODULES[event.entity]
    if module == "Invoices":
        module = tenant_map.settings.invoice_module
    mode = tenant_map.settings.deletes
    fields: dict[str, Any] = {STATUS_FIELD: DELETED_STATUS}
    key_field = EXTERNAL_FIELDS[module]
    if event.entity is Entity.AR_OPEN_INVOICE:
        mode, fields, key_field = "deactivate", PURGED_OPEN_INVOICE, OPEN_INVOICE_FIELD
    return ZohoDeleteCommand(
        event_id=uuid.uuid5(COMMAND_NAMESPACE, f"{event.event_id}:delete:{mode}"),
        **caused_by(event),
        module=module,
        external_field=key_field,
        external_value=event.source_key,
        # Sorts after the last version emitted, so the writer's stale guard lets it through.
        source_version=f"{event.last_version or ''}~deleted",
        mode=mode,
        deactivate=fields if mode == "deactivate" else {},
    )


def map_event(
    event: SageRecordChanged | SageRecordDeleted, tenant_map: TenantMap = DEFAULT_MAP
) -> list[Output]:
    """Every message one raw event produces: commands, or a single dead letter.

    Never raises: whatever a Sage row holds, the answer is commands or a dead letter.
    """
    if not tenant_map.enabled(event.entity):
        return []  # switched off for this tenant (e.g. no Vendors module in its edition)
    try:
        if isinstance(event, SageRecordDeleted):
            return [(Topics.ZOHO_COMMANDS, deletion(event, tenant_map))]
        return [(Topics.ZOHO_COMMANDS, cmd) for cmd in to_commands(event, tenant_map)]
    except MappingError as error:
        return [(Topics.DEAD_LETTERS, mapping_failure(event, error))]
    except Exception as error:
        # A row shape no mapping foresaw is still this record's problem: retrying the batch
        # would stall its partition for every tenant on it. The letter keeps it for replay.
        return [(Topics.DEAD_LETTERS, mapping_failure(event, error))]
