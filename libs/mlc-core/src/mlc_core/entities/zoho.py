"""The Zoho side of every entity, one `ZohoTarget` each (the module its record goes to, the
upsert key, the keys also matched, the other modules it writes), and the `ZohoModule`s those
name (upsert key, custom fields). The mapper's module and key tables, `mlc zoho setup`'s plan and
`mlc ping`'s key checks derive from these; what a record's fields hold is the entity's mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlc_core.entities import Entity

# An open AR invoice and its invoice-history header are one Zoho invoice: history finds the
# record an open invoice created (and the reverse) through this second org external field.
OPEN_INVOICE_FIELD = "Sage_Open_Invoice_Key"


@dataclass(frozen=True)
class ZohoField:
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


@dataclass(frozen=True)
class ZohoModule:
    """A Zoho module we write: its upsert key (an org-wide external text field,
    zoho-crm.md §4.3) and the custom fields the default mappings need in it."""

    api_name: str
    upsert_key: str
    custom_fields: tuple[ZohoField, ...] = ()
    singular: str | None = None  # a module we create (not one of Zoho's own): singular label


@dataclass(frozen=True)
class ZohoTarget:
    """Where one entity's records go in Zoho."""

    entity: Entity
    module: str  # its own record's module
    key_field: str | None = None  # upsert key when not the module's own
    second_keys: tuple[str, ...] = ()  # also matched, in order, after the upsert key
    also_writes: tuple[str, ...] = ()  # modules it upserts into or looks records up in

    @property
    def upsert_key(self) -> str:
        """The field this entity's own records are upserted on."""
        return self.key_field or ZOHO_MODULES[self.module].upsert_key


def _f(name: str, data_type: str = "text", lookup: str | None = None) -> ZohoField:
    return ZohoField(name, data_type, lookup)


def _money(*names: str) -> list[ZohoField]:
    return [_f(name, "currency") for name in names]


_DOCUMENT_TOTALS = _money("Sub_Total", "Tax", "Adjustment", "Discount", "Grand_Total")
_OPEN_INVOICE = [
    ZohoField(OPEN_INVOICE_FIELD, "text", length=64, key=True),
    *_money("Sage_Balance"),
    _f("Sage_Invoice_Status"),
]
ZOHO_MODULES: dict[str, ZohoModule] = {
    module.api_name: module
    for module in (
        ZohoModule(
            "Accounts",
            "Sage_Customer_No",
            (
                _f("Sage_Salesperson"),
                _f("Sage_Terms_Code"),
                _f("Sage_Credit_Hold", "boolean"),
                *_money("Sage_Credit_Limit", "Sage_Current_Balance"),
                *_money("Sage_Aging_1", "Sage_Aging_2", "Sage_Aging_3", "Sage_Aging_4"),
                _f("Sage_Last_Payment_Date", "date"),
                *_money("Sage_Last_Payment_Amount"),
                _f("Sage_Inactive_Reason"),
                _f("Sage_Primary_Contact", "lookup", "Contacts"),
            ),
        ),
        ZohoModule("Contacts", "Sage_Contact_Key", (_f("Sage_Is_Primary_Contact", "boolean"),)),
        ZohoModule(
            "Vendors",
            "Sage_Vendor_No",
            (
                _f("Sage_Terms_Code"),
                *_money("Sage_Balance_Due"),
                _f("Sage_Last_Payment_Date", "date"),
            ),
        ),
        ZohoModule("Products", "Sage_Item_Code"),
        ZohoModule(
            "Sales_Orders",
            "Sage_SO_No",
            (_f("Sage_Order_Date", "date"), _f("Sage_Order_Type")),
        ),
        ZohoModule("Invoices", "Sage_Invoice_No", (_f("Sage_Invoice_Type"), *_OPEN_INVOICE)),
        # Invoices in an edition without Zoho's Invoices module (mapping.md, invoice_module).
        ZohoModule(
            "Sage_Invoices",
            "Sage_Invoice_No",
            (
                _f("Account", "lookup", "Accounts"),
                _f("Deal", "lookup", "Deals"),
                _f("Customer_No"),
                _f("Purchase_Order"),
                _f("Invoice_Date", "date"),
                _f("Due_Date", "date"),
                *_DOCUMENT_TOTALS,
                _f("Sage_Invoice_Type"),
                *_OPEN_INVOICE,
            ),
            singular="Sage Invoice",
        ),
        ZohoModule(
            "Sage_AP_Invoices",
            "Sage_AP_Invoice_Key",
            (
                _f("Vendor", "lookup", "Vendors"),
                _f("Invoice_No"),
                _f("Invoice_Date", "date"),
                _f("Due_Date", "date"),
                *_money("Invoice_Amount", "Balance"),
                _f("Terms_Code"),
                _f("Purchase_Order_No"),
                _f("On_Hold", "boolean"),
                _f("Comment"),
            ),
            singular="Sage AP Invoice",
        ),
        ZohoModule(
            "Sage_GL_Accounts",
            "Sage_GL_Account_Key",
            (
                _f("Account_No"),
                _f("Description", "textarea"),
                _f("Main_Account"),
                _f("Account_Type"),
                _f("Account_Group"),
                _f("Group", "lookup", "Sage_GL_Account_Groups"),
                _f("Status"),
            ),
            singular="Sage GL Account",
        ),
        ZohoModule(
            "Sage_GL_Account_Groups",
            "Sage_GL_Group_Code",
            (
                _f("Group_Code"),
                _f("Account_Category"),
                _f("Account_Type"),
                _f("Cash_Flows_Type"),
            ),
            singular="Sage GL Account Group",
        ),
    )
}

ZOHO_TARGETS: dict[Entity, ZohoTarget] = {
    target.entity: target
    for target in (
        ZohoTarget(Entity.AR_CUSTOMER, "Accounts"),
        ZohoTarget(Entity.CUSTOMER_CONTACT, "Contacts", also_writes=("Accounts",)),
        ZohoTarget(Entity.AP_VENDOR, "Vendors"),
        ZohoTarget(Entity.SALES_ORDER, "Sales_Orders", also_writes=("Products", "Accounts")),
        ZohoTarget(
            Entity.AR_INVOICE,
            "Invoices",
            second_keys=(OPEN_INVOICE_FIELD,),
            also_writes=("Products", "Accounts"),
        ),
        ZohoTarget(
            Entity.AR_OPEN_INVOICE,
            "Invoices",
            key_field=OPEN_INVOICE_FIELD,
            also_writes=("Products", "Accounts"),
        ),
        ZohoTarget(Entity.AP_OPEN_INVOICE, "Sage_AP_Invoices", also_writes=("Vendors",)),
        ZohoTarget(Entity.GL_ACCOUNT, "Sage_GL_Accounts"),
        ZohoTarget(Entity.GL_ACCOUNT_GROUP, "Sage_GL_Account_Groups"),
    )
}
