"""What the default mapping needs in a Zoho org, and the plan to get there (pure).

`mlc zoho setup` reads the org's modules and fields, asks `setup_plan()` what is missing,
creates what the edition lets the API create, and prints step-by-step instructions for the
rest. Entities whose module cannot exist (e.g. no Vendors in the edition) are switched off for
the tenant, so they produce one warning instead of one error per record. Modules, keys and
custom fields come from the Zoho-side entity definitions (mlc_core.entities.zoho).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlc_core.contracts import Entity
from mlc_core.entities.zoho import ZOHO_MODULES, ZOHO_TARGETS, ZohoField

from mapper.drafts import EXTERNAL_FIELDS, STATUS_FIELD

CUSTOM_FIELDS: dict[str, list[ZohoField]] = {
    name: list(module.custom_fields) for name, module in ZOHO_MODULES.items()
}
# The modules we create where the org lacks them, with their singular labels.
CUSTOM_MODULES = {name: m.singular for name, m in ZOHO_MODULES.items() if m.singular is not None}
# The modules each entity writes to (its own first); products come with order lines.
ENTITY_MODULES: dict[Entity, tuple[str, ...]] = {
    entity: (target.module, *target.also_writes) for entity, target in ZOHO_TARGETS.items()
}
# Entities whose records go to the tenant's invoice module (Invoices, or Sage_Invoices).
INVOICE_ENTITIES = frozenset(e for e, target in ZOHO_TARGETS.items() if target.module == "Invoices")


def fields_needed(module: str) -> list[ZohoField]:
    """The upsert key first (an org external field), then the status and mapped fields."""
    key = ZohoField(EXTERNAL_FIELDS[module], "text", length=64)
    return [key, ZohoField(STATUS_FIELD, "text"), *CUSTOM_FIELDS[module]]


def modules_for(entity: Entity, invoice_module: str) -> tuple[str, ...]:
    modules = ENTITY_MODULES[entity]
    if entity in INVOICE_ENTITIES and invoice_module != "Invoices":
        return (invoice_module, "Accounts")
    return modules


@dataclass
class SetupPlan:
    """What `mlc zoho setup` does in one org: modules to create, entities it cannot sync."""

    invoice_module: str
    create_modules: list[str] = field(default_factory=list)
    unavailable: list[Entity] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def modules_needed(self, entities: list[Entity]) -> list[str]:
        wanted = [
            m
            for e in entities
            if e not in self.unavailable
            for m in modules_for(e, self.invoice_module)
        ]
        return list(dict.fromkeys(wanted))


def setup_plan(entities: list[Entity], available: set[str], invoice_module: str) -> SetupPlan:
    """Which custom modules to create and which entities cannot sync in this org."""
    if INVOICE_ENTITIES & set(entities) and "Invoices" not in available:
        invoice_module = "Sage_Invoices"
    result = SetupPlan(invoice_module)
    for entity in entities:
        modules = modules_for(entity, invoice_module)
        missing = [m for m in modules if m not in available and m not in CUSTOM_MODULES]
        if missing:
            result.unavailable.append(entity)
            result.warnings.append(
                f"{entity}: this Zoho edition has no {', '.join(missing)} module;"
                f" {entity} sync is switched off for the tenant"
            )
            continue
        for module in modules:
            if module in CUSTOM_MODULES and module not in available:
                result.create_modules.append(module)
    result.create_modules = list(dict.fromkeys(result.create_modules))
    return result


def missing_fields(module: str, existing: set[str]) -> list[ZohoField]:
    return [spec for spec in fields_needed(module) if spec.api_name not in existing]


def module_instructions(module: str) -> list[str]:
    singular = CUSTOM_MODULES[module]
    return [
        "In Zoho CRM: Setup > Customization > Modules and Fields > + New Module:",
        f"  name it '{module.replace('_', ' ')}' (singular '{singular}'), API name {module},",
        "  then run `mlc zoho setup` again: it adds the module's fields.",
    ]


def field_instruction(module: str, spec: ZohoField) -> str:
    kind = {"text": "Single Line", "textarea": "Multi Line", "currency": "Currency"}
    kind |= {"date": "Date", "boolean": "Checkbox", "lookup": "Lookup"}
    extra = f" to {spec.lookup_module}" if spec.lookup_module else ""
    if spec.api_name == EXTERNAL_FIELDS.get(module) or spec.key:
        extra = " (Field properties: mark it 'External field', type Org)"
    return (
        f"In Zoho CRM: Setup > Customization > Modules and Fields > {module} > add a"
        f" {kind[spec.data_type]} field labelled '{spec.label}'{extra}; its API name must be"
        f" {spec.api_name}"
    )
