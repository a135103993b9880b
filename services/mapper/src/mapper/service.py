"""Pure mapping: a raw Sage event becomes Zoho commands, or one dead letter saying why not.

No I/O here; tests call these functions directly. A record that cannot be mapped never holds
back any other: its dead letter names tenant, entity, key, field and reason, and keeps the raw
event whole so it can be replayed after the record (or the tenant's map) is fixed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
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

from mapper import masters, orders, reference
from mapper.construct import fast_uuid5, trusted
from mapper.drafts import (
    DELETED_STATUS,
    EXTERNAL_FIELDS,
    OPEN_INVOICE_FIELD,
    STATUS_FIELD,
    Draft,
    Options,
)
from mapper.limits import check_record
from mapper.plan import EntitySpec, Plan, compile_plan
from mapper.profile import DEFAULT_MAP, TenantMap
from mapper.values import MappingError, Row

COMMAND_NAMESPACE = uuid.UUID("0b6d8e43-55a1-4c0a-8f55-2f3b0f1b7c21")
_NAMESPACE_BYTES = COMMAND_NAMESPACE.bytes
ACCOUNT_EXTERNAL_FIELD = EXTERNAL_FIELDS["Accounts"]
Output = tuple[str, Envelope]
PURGED_OPEN_INVOICE: dict[str, Any] = {"Sage_Balance": 0.0, "Sage_Invoice_Status": "Closed"}
EntityMapping = Callable[[Row, str, Options], list[Draft]]

# Master data: field lists compiled with each tenant's map into flat plans (mapper.plan).
SPECS: dict[Entity, EntitySpec] = {
    Entity.AR_CUSTOMER: masters.CUSTOMER,
    Entity.CUSTOMER_CONTACT: masters.CONTACT,
    Entity.AP_VENDOR: masters.VENDOR,
}
# Documents and reference data: code, then the tenant's map, then Zoho's limits.
MAPPINGS: dict[Entity, EntityMapping] = {
    Entity.SALES_ORDER: orders.sales_order,
    Entity.AR_INVOICE: orders.ar_invoice,
    Entity.AR_OPEN_INVOICE: orders.ar_open_invoice,
    Entity.AP_OPEN_INVOICE: reference.ap_invoice,
    Entity.GL_ACCOUNT: reference.gl_account,
    Entity.GL_ACCOUNT_GROUP: reference.gl_account_group,
}
# The Zoho module an entity's own record goes to (deletes need it without a record).
MODULES: dict[Entity, str] = {entity: target.module for entity, target in ZOHO_TARGETS.items()}


def plan_for(entity: Entity, tenant_map: TenantMap) -> Plan | None:
    """The tenant's compiled plan for a master-data entity, compiled on first use."""
    plan: Plan | None = tenant_map.plans.get(entity)
    if plan is None and entity in SPECS:
        plan = compile_plan(SPECS[entity], tenant_map.entities.get(entity), tenant_map.codes)
        tenant_map.plans[entity] = plan
    return plan


def drafts_for(event: SageRecordChanged, tenant_map: TenantMap = DEFAULT_MAP) -> list[Draft]:
    """The checked Zoho records for one raw event; raises MappingError on the first problem."""
    plan = plan_for(event.entity, tenant_map)
    if plan is not None:
        return [plan.draft(event.record, event.source_key)]
    drafts = MAPPINGS[event.entity](event.record, event.source_key, tenant_map.options)
    for draft in drafts:
        tenant_map.apply(event.entity, draft, event.record)
        check_record(draft.module, draft.record, draft.sources)
    return drafts


def _command_id(prefix: str, draft: Draft) -> uuid.UUID:
    """uuid5(COMMAND_NAMESPACE, f"{event_id}:command:{module}:{key}") as uuid.uuid5 computes
    it, without re-deriving the namespace's bytes for every command; `prefix` is the part
    before the module (_id_prefix), the same for every command of an event."""
    name = f"{prefix}{draft.module}:{draft.external_value}"
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()
    return fast_uuid5(digest)


def _id_prefix(event: SageRecordChanged) -> str:
    return f"{event.event_id}:command:"


def _command(event: SageRecordChanged, draft: Draft, prefix: str) -> ZohoUpsertCommand:
    # Every field, in the model's order: trusted() then takes them as they are, and the
    # command serialises exactly as a validated one.
    return trusted(
        ZohoUpsertCommand,
        # Deterministic: redelivering the raw event yields the same commands.
        event_id=_command_id(prefix, draft),
        schema_version=SCHEMA_VERSION,
        tenant_id=event.tenant_id,
        # The change's time, not the mapping's: a redelivered event maps to the same command.
        occurred_at=event.occurred_at,
        correlation_id=event.correlation_id,
        causation_id=event.event_id,
        replay=None,
        entity=event.entity,
        source_key=event.source_key,
        event_type="zoho.upsert.requested",
        module=draft.module,
        external_field=draft.external_field,
        external_value=draft.external_value,
        source_version=event.source_version,
        record=draft.record,
        trigger=[],
        lookups=draft.lookups,
        force=False,
        also_match=draft.also_match,
        # Only the entity's own record moves; the key is its source_key.
        renumbered_from=event.renumbered_from
        if draft.primary and draft.external_value == event.source_key
        else None,
    )


def to_commands(
    event: SageRecordChanged, tenant_map: TenantMap = DEFAULT_MAP
) -> list[ZohoUpsertCommand]:
    """Parents first (an order's products before the order): the writer keeps the order."""
    drafts = drafts_for(event, tenant_map)
    prefix = _id_prefix(event)  # once per event: an order has a command per product too
    return [_command(event, draft, prefix) for draft in drafts]


def to_command(event: SageRecordChanged, tenant_map: TenantMap = DEFAULT_MAP) -> ZohoUpsertCommand:
    """The entity's own command (the last one; products for an order come before it)."""
    return to_commands(event, tenant_map)[-1]


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
