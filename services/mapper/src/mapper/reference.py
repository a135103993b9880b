"""Read-only reference data in custom modules: AP open invoices, GL accounts and groups.

Sales sees accounting context (what we owe a vendor, which GL account a line posts to), while
Sage stays the only place these are edited: the setup command creates the modules with their
fields read-only for every profile but the integration user.
"""

from __future__ import annotations

from mlc_core.contracts import Entity, ZohoLookup

from mapper import values as v
from mapper.drafts import lookup
from mapper.fields import (
    Prepared,
    Reader,
    RecordMapping,
    bound,
    column,
    computed,
    derived,
    key,
    money,
    text,
)
from mapper.values import Row

GL_STATUS = {"A": "Active", "I": "Inactive", "D": "Deleted"}
# Default GL_AccountType codes (sage100.md §3, GL_Account).
GL_ACCOUNT_TYPES = {
    "01": "Cash",
    "02": "Net AR",
    "03": "Other receivables",
    "04": "Inventory",
    "05": "Prepaid expenses",
    "06": "Other assets",
    "07": "Current liabilities",
    "08": "Long-term liabilities",
    "09": "Equity",
    "10": "Retained earnings",
    "11": "Net revenue",
    "12": "Cost of sales",
    "13": "Operating expenses",
    "14": "Interest expense",
    "15": "Non-financial",
    "16": "Other income and expense",
    "17": "Income tax",
    "18": "Interest expense",
}


def _vendor(row: Row, key: str) -> Prepared:
    vendor_key = v.division_key(row, "APDivisionNo", "VendorNo")
    return Prepared({"vendor": vendor_key}, links=[lookup("Vendor", "Vendors", vendor_key)])


def _ap_invoice_name(row: Row, key: str, found: Prepared) -> str:
    return f"{found.values['vendor']} {v.required_text(row, 'InvoiceNo', 'Name')}"


def _links(row: Row, key: str, found: Prepared) -> list[ZohoLookup]:
    return found.links


_INVOICE_NO = bound(v.required_text, "InvoiceNo", "Name")
AP_INVOICE = RecordMapping(
    "Sage_AP_Invoices",
    (
        derived("Name", "InvoiceNo", _ap_invoice_name),
        computed("Invoice_No", "InvoiceNo", _INVOICE_NO),
        column("Invoice_Date", v.sage_date, "InvoiceDate"),
        column("Due_Date", v.sage_date, "InvoiceDueDate"),
        money("Invoice_Amount", "InvoiceAmt"),
        money("Balance", "Balance"),
        text("Terms_Code", "TermsCode"),
        text("Purchase_Order_No", "PurchaseOrderNo"),
        column("On_Hold", v.flag, "HoldPayment", text_value=False),
        text("Comment", "Comment"),
        key("Sage_AP_Invoice_Key"),
    ),
    links=_links,
    prepare=_vendor,
)
"""AP_OpenInvoice -> Sage_AP_Invoices, linked to the vendor."""


def _account_type(row: Row) -> str | None:
    code = v.text(row, "AccountType")
    if code is None:
        return None
    return f"{code} {GL_ACCOUNT_TYPES[code]}" if code in GL_ACCOUNT_TYPES else code


def _described(code_column: str, zoho_field: str, description_column: str) -> Reader:
    """'4000 Sales' from the code and its description; the code alone without one."""

    def read(row: Row) -> str:
        code = v.required_text(row, code_column, zoho_field)
        description = v.text(row, description_column)
        return f"{code} {description}" if description else code

    return read


def _group_link(row: Row, key: str, found: Prepared) -> list[ZohoLookup]:
    # Not required: a tenant may sync accounts without groups; the group text stays anyway.
    group = v.text(row, "AccountGroup")
    return [lookup("Group", "Sage_GL_Account_Groups", group, required=False)] if group else []


GL_ACCOUNT = RecordMapping(
    "Sage_GL_Accounts",
    (
        computed("Name", "AccountDesc", _described("Account", "Name", "AccountDesc")),
        computed("Account_No", "Account", bound(v.required_text, "Account", "Name")),
        text("Description", "AccountDesc"),
        text("Main_Account", "MainAccountCode"),
        computed("Account_Type", "AccountType", _account_type),
        text("Account_Group", "AccountGroup"),
        computed("Status", "Status", bound(v.code, "Status", GL_STATUS)),
        key("Sage_GL_Account_Key"),
    ),
    links=_group_link,
)
"""GL_Account -> Sage_GL_Accounts with its place in the hierarchy (group, type, main)."""

GL_ACCOUNT_GROUP = RecordMapping(
    "Sage_GL_Account_Groups",
    (
        computed(
            "Name", "AccountGroupDesc", _described("AccountGroup", "Name", "AccountGroupDesc")
        ),
        computed(
            "Group_Code",
            "AccountGroup",
            bound(v.required_text, "AccountGroup", "Name"),
        ),
        text("Account_Category", "AccountCategory"),
        computed("Account_Type", "AccountType", _account_type),
        text("Cash_Flows_Type", "CashFlowsType"),
        key("Sage_GL_Group_Code"),
    ),
)
"""GL_AccountGroup -> Sage_GL_Account_Groups."""

REFERENCE_DATA: dict[Entity, RecordMapping] = {
    Entity.AP_OPEN_INVOICE: AP_INVOICE,
    Entity.GL_ACCOUNT: GL_ACCOUNT,
    Entity.GL_ACCOUNT_GROUP: GL_ACCOUNT_GROUP,
}
