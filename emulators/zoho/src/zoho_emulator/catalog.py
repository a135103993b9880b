"""The standard modules an org starts with, and which edition has which.

Mandatory fields are Zoho's system-mandatory ones (zoho-crm.md §4.1); lengths are
Zoho's defaults for those fields as the field metadata API reports them (single
line 255 unless Zoho sets less; the reference gives none, so they are our reading).
Which edition has which module is not in the reference (Vendors: unconfirmed;
"inventory modules are generally missing from lower editions"): here Free has
Accounts and Contacts, Standard adds Products, Professional and up have
everything.  A module an edition lacks answers INVALID_MODULE.
"""

from __future__ import annotations

from collections.abc import Iterable

from zoho_emulator.metadata import DataType, ExternalType, FieldDef, ModuleDef

EDITIONS = ("free", "standard", "professional", "enterprise", "ultimate")
CORE = ("Accounts", "Contacts")
FIRST_EDITION = {
    "Accounts": "free",
    "Contacts": "free",
    "Deals": "free",
    "Products": "standard",
    "Vendors": "professional",
    "Sales_Orders": "professional",
    "Invoices": "professional",
}
# Creating a custom module through the API needs Enterprise or above (§4.3, CRM-CM7).
CUSTOM_MODULE_EDITIONS = ("enterprise", "ultimate")


def edition_has(edition: str, module: str) -> bool:
    first = FIRST_EDITION.get(module)
    return first is None or EDITIONS.index(edition) >= EDITIONS.index(first)


def _t(name: str, length: int = 255, data_type: DataType = DataType.TEXT) -> FieldDef:
    return FieldDef(name, data_type, length)


def _lookup(name: str, module: str, mandatory: bool = False) -> FieldDef:
    return FieldDef(name, DataType.LOOKUP, 0, mandatory=mandatory, lookup_module=module)


def _n(name: str, data_type: DataType = DataType.DOUBLE) -> FieldDef:
    return FieldDef(name, data_type, 16)


def _address(prefix: str, zip_name: str) -> list[FieldDef]:
    return [
        _t(f"{prefix}_Street", 250),
        _t(f"{prefix}_City", 100),
        _t(f"{prefix}_State", 100),
        _t(f"{prefix}_{zip_name}", 30),
        _t(f"{prefix}_Country", 100),
    ]


def _accounts() -> list[FieldDef]:
    return [
        FieldDef("Account_Name", DataType.TEXT, 200, mandatory=True),
        _t("Account_Number", 40),
        _t("Phone", 30, DataType.PHONE),
        _t("Fax", 30),
        _t("Website", 255, DataType.WEBSITE),
        _t("Account_Type", 120, DataType.PICKLIST),
        _lookup("Parent_Account", "Accounts"),
        *_address("Billing", "Code"),
        *_address("Shipping", "Code"),
        _t("Description", 32000, DataType.TEXTAREA),
        # The upsert key the connector's README asks every org to have.
        FieldDef("Sage_Customer_No", DataType.TEXT, 40, external=ExternalType.ORG, custom=True),
    ]


def _contacts() -> list[FieldDef]:
    return [
        _t("First_Name", 40),
        FieldDef("Last_Name", DataType.TEXT, 80, mandatory=True),
        _t("Email", 100, DataType.EMAIL),
        _t("Phone", 30, DataType.PHONE),
        _t("Mobile", 30, DataType.PHONE),
        _t("Title", 100),
        _t("Salutation", 120, DataType.PICKLIST),
        _t("Other_Phone", 30, DataType.PHONE),
        _t("Fax", 30),
        _lookup("Account_Name", "Accounts"),
        _lookup("Vendor_Name", "Vendors"),
        *_address("Mailing", "Zip"),
        *_address("Other", "Zip"),
        _t("Description", 32000, DataType.TEXTAREA),
    ]


def _vendors() -> list[FieldDef]:
    return [
        FieldDef("Vendor_Name", DataType.TEXT, 120, mandatory=True),
        _t("Email", 100, DataType.EMAIL),
        _t("Phone", 30, DataType.PHONE),
        _t("Website", 255, DataType.WEBSITE),
        _t("Category", 120),
        _t("GL_Account", 120, DataType.PICKLIST),
        _t("Street", 250),
        _t("City", 100),
        _t("State", 100),
        _t("Zip_Code", 30),
        _t("Country", 100),
        _t("Description", 32000, DataType.TEXTAREA),
    ]


def _products() -> list[FieldDef]:
    return [
        FieldDef("Product_Name", DataType.TEXT, 200, mandatory=True),
        _t("Product_Code", 40),
        _n("Unit_Price", DataType.CURRENCY),
        _lookup("Vendor_Name", "Vendors"),
        FieldDef("Product_Active", DataType.BOOLEAN, 0),
        _n("Qty_in_Stock"),
        FieldDef("Taxable", DataType.BOOLEAN, 0),
        _t("Usage_Unit", 120, DataType.PICKLIST),
        _t("Description", 32000, DataType.TEXTAREA),
    ]


def _deals() -> list[FieldDef]:
    """Deals: Deal_Name and Stage are mandatory (§4.1 notes; no Pipeline in these orgs)."""
    return [
        FieldDef("Deal_Name", DataType.TEXT, 120, mandatory=True),
        FieldDef("Stage", DataType.PICKLIST, 120, mandatory=True),
        _n("Amount", DataType.CURRENCY),
        FieldDef("Closing_Date", DataType.DATE, 10),
        _lookup("Account_Name", "Accounts"),
        _lookup("Contact_Name", "Contacts"),
        _t("Description", 32000, DataType.TEXTAREA),
    ]


def _line_items(name: str) -> FieldDef:
    """Inventory line items (§4.2): each row needs an existing product and a quantity."""
    rows = (
        _lookup("Product_Name", "Products", mandatory=True),
        FieldDef("Quantity", DataType.DOUBLE, 16, mandatory=True),
        _n("List_Price", DataType.CURRENCY),
        _n("Discount", DataType.CURRENCY),
        _t("Description", 2000, DataType.TEXTAREA),
    )
    return FieldDef(name, DataType.SUBFORM, 0, mandatory=True, row_fields=rows)


def _inventory(items: str, extra: Iterable[FieldDef]) -> list[FieldDef]:
    return [
        FieldDef("Subject", DataType.TEXT, 250, mandatory=True),
        _lookup("Account_Name", "Accounts"),
        _lookup("Contact_Name", "Contacts"),
        _lookup("Deal_Name", "Deals"),
        _t("Status", 120, DataType.PICKLIST),
        _t("Purchase_Order", 100),
        _t("Customer_No", 100),
        FieldDef("Due_Date", DataType.DATE, 10),
        *_address("Billing", "Code"),
        *_address("Shipping", "Code"),
        _n("Discount", DataType.CURRENCY),
        _n("Tax", DataType.CURRENCY),
        _n("Adjustment", DataType.CURRENCY),
        _n("Sub_Total", DataType.CURRENCY),
        _n("Grand_Total", DataType.CURRENCY),
        _t("Terms_and_Conditions", 32000, DataType.TEXTAREA),
        _t("Description", 32000, DataType.TEXTAREA),
        _line_items(items),
        *extra,
    ]


def _module(api_name: str, singular: str, system_field: str, fields: list[FieldDef]) -> ModuleDef:
    return ModuleDef(
        api_name, system_field, {f.api_name: f for f in fields}, singular, module_name=api_name
    )


def standard_modules() -> dict[str, ModuleDef]:
    """A fresh module table for a new org (every edition's modules; availability is checked
    per call, so an org upgraded to a higher edition sees them at once)."""
    modules = [
        _module("Accounts", "Account", "Account_Name", _accounts()),
        _module("Contacts", "Contact", "Email", _contacts()),
        _module("Vendors", "Vendor", "Vendor_Name", _vendors()),
        _module("Products", "Product", "Product_Name", _products()),
        _module("Deals", "Deal", "Deal_Name", _deals()),
        _module(
            "Sales_Orders",
            "Sales Order",
            "Subject",
            _inventory("Ordered_Items", [FieldDef("Carrier", DataType.PICKLIST, 120)]),
        ),
        _module(
            "Invoices",
            "Invoice",
            "Subject",
            _inventory("Invoiced_Items", [FieldDef("Invoice_Date", DataType.DATE, 10)]),
        ),
    ]
    return {m.api_name: m for m in modules}


def custom_module(api_name: str, singular: str, sequence: int) -> ModuleDef:
    """A new custom module: its system duplicate field is `Name` (§3.1)."""
    name = FieldDef("Name", DataType.TEXT, 120, mandatory=True, label=f"{singular} Name")
    return ModuleDef(
        api_name,
        "Name",
        {"Name": name},
        singular,
        custom=True,
        module_name=f"CustomModule{sequence}",
    )
