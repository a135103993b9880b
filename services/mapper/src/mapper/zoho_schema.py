"""What the default mapping needs in a Zoho org, and the plan to get there (pure).

`mlc zoho setup` reads the org's modules and fields, asks `plan()` what is missing, creates what
the edition lets the API create, and prints step-by-step instructions for the rest. Entities
whose module cannot exist (e.g. no Vendors in the edition) are switched off for the tenant, so
they produce one warning instead of one error per record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlc_core.contracts import Entity

from mapper.drafts import EXTERNAL_FIELDS, OPEN_INVOICE_FIELD, STATUS_FIELD


@dataclass(frozen=True)
class FieldSpec:
    api_name: str
    data_type: str  # Zoho's field data_type: text, textarea, currency, date, boolean, lookup
    lookup_module: str | None = None
    length: int | None = None
    key: bool = False  # an org external field besides the module's upsert key

    @property
    def label(self) -> str:
        """Zoho derives the API name from the label; this label gives back `api_name`."""
        return self.api_name.replace("_", " ")

    def body(self, *, external: bool) -> dict[str, object]:
        item: dict[str, object] = {"field_label": self.label, "data_type": self.data_type}
        if self.length is not None:
            item["length"] = self.length
        if external or self.key:
            item["external"] = {"type": "org"}
        if self.lookup_module is not None:
            item["lookup"] = {"module": {"api_name": self.lookup_module}}
        return item


def _f(name: str, data_type: str = "text", lookup: str | None = None) -> FieldSpec:
    return FieldSpec(name, data_type, lookup)


def _money(*names: str) -> list[FieldSpec]:
    return [_f(name, "currency") for name in names]


_DOCUMENT_TOTALS = _money("Sub_Total", "Tax", "Adjustment", "Discount", "Grand_Total")
_OPEN_INVOICE = [
    FieldSpec(OPEN_INVOICE_FIELD, "text", length=64, key=True),
    *_money("Sage_Balance"),
    _f("Sage_Invoice_Status"),
]
CUSTOM_FIELDS: dict[str, list[FieldSpec]] = {
    "Accounts": [
        _f("Sage_Salesperson"),
        _f("Sage_Terms_Code"),
        _f("Sage_Credit_Hold", "boolean"),
        *_money("Sage_Credit_Limit", "Sage_Current_Balance"),
        *_money("Sage_Aging_1", "Sage_Aging_2", "Sage_Aging_3", "Sage_Aging_4"),
        _f("Sage_Last_Payment_Date", "date"),
        *_money("Sage_Last_Payment_Amount"),
        _f("Sage_Inactive_Reason"),
        _f("Sage_Primary_Contact", "lookup", "Contacts"),
    ],
    "Contacts": [_f("Sage_Is_Primary_Contact", "boolean")],
    "Vendors": [
        _f("Sage_Terms_Code"),
        *_money("Sage_Balance_Due"),
        _f("Sage_Last_Payment_Date", "date"),
    ],
    "Products": [],
    "Sales_Orders": [_f("Sage_Order_Date", "date"), _f("Sage_Order_Type")],
    "Invoices": [_f("Sage_Invoice_Type"), *_OPEN_INVOICE],
    "Sage_Invoices": [
        _f("Account", "lookup", "Accounts"),
        _f("Deal", "lookup", "Deals"),
        _f("Customer_No"),
        _f("Purchase_Order"),
        _f("Invoice_Date", "date"),
        _f("Due_Date", "date"),
        *_DOCUMENT_TOTALS,
        _f("Sage_Invoice_Type"),
        *_OPEN_INVOICE,
    ],
    "Sage_AP_Invoices": [
        _f("Vendor", "lookup", "Vendors"),
        _f("Invoice_No"),
        _f("Invoice_Date", "date"),
        _f("Due_Date", "date"),
        *_money("Invoice_Amount", "Balance"),
        _f("Terms_Code"),
        _f("Purchase_Order_No"),
        _f("On_Hold", "boolean"),
        _f("Comment"),
    ],
    "Sage_GL_Accounts": [
        _f("Account_No"),
        _f("Description", "textarea"),
        _f("Main_Account"),
        _f("Account_Type"),
        _f("Account_Group"),
        _f("Group", "lookup", "Sage_GL_Account_Groups"),
        _f("Status"),
    ],
    "Sage_GL_Account_Groups": [
        _f("Group_Code"),
        _f("Account_Category"),
        _f("Account_Type"),
        _f("Cash_Flows_Type"),
    ],
}
CUSTOM_MODULES = {
    "Sage_Invoices": "Sage Invoice",
    "Sage_AP_Invoices": "Sage AP Invoice",
    "Sage_GL_Accounts": "Sage GL Account",
    "Sage_GL_Account_Groups": "Sage GL Account Group",
}
# The modules each entity writes to (its own first); products come with order lines.
ENTITY_MODULES: dict[Entity, tuple[str, ...]] = {
    Entity.AR_CUSTOMER: ("Accounts",),
    Entity.CUSTOMER_CONTACT: ("Contacts", "Accounts"),
    Entity.AP_VENDOR: ("Vendors",),
    Entity.SALES_ORDER: ("Sales_Orders", "Products", "Accounts"),
    Entity.AR_INVOICE: ("Invoices", "Products", "Accounts"),
    Entity.AR_OPEN_INVOICE: ("Invoices", "Products", "Accounts"),
    Entity.AP_OPEN_INVOICE: ("Sage_AP_Invoices", "Vendors"),
    Entity.GL_ACCOUNT: ("Sage_GL_Accounts",),
    Entity.GL_ACCOUNT_GROUP: ("Sage_GL_Account_Groups",),
}


INVOICE_ENTITIES = frozenset({Entity.AR_INVOICE, Entity.AR_OPEN_INVOICE})


def fields_needed(module: str) -> list[FieldSpec]:
    """The upsert key first (an org external field), then the status and mapped fields."""
    key = FieldSpec(EXTERNAL_FIELDS[module], "text", length=64)
    return [key, _f(STATUS_FIELD), *CUSTOM_FIELDS[module]]


def modules_for(entity: Entity, invoice_module: str) -> tuple[str, ...]:
    modules = ENTITY_MODULES[entity]
    if entity in INVOICE_ENTITIES and invoice_module != "Invoices":
        return (invoice_module, "Accounts")
    return modules


@dataclass
class Plan:
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


def plan(entities: list[Entity], available: set[str], invoice_module: str) -> Plan:
    """Which custom modules to create and which entities cannot sync in this org."""
    if INVOICE_ENTITIES & set(entities) and "Invoices" not in available:
        invoice_module = "Sage_Invoices"
    result = Plan(invoice_module)
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


def missing_fields(module: str, existing: set[str]) -> list[FieldSpec]:
    return [spec for spec in fields_needed(module) if spec.api_name not in existing]


def module_instructions(module: str) -> list[str]:
    singular = CUSTOM_MODULES[module]
    return [
        "In Zoho CRM: Setup > Customization > Modules and Fields > + New Module:",
        f"  name it '{module.replace('_', ' ')}' (singular '{singular}'), API name {module},",
        "  then run `mlc zoho setup` again: it adds the module's fields.",
    ]


def field_instruction(module: str, spec: FieldSpec) -> str:
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
