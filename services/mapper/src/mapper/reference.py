"""Read-only reference data in custom modules: AP open invoices, GL accounts and groups.

Sales sees accounting context (what we owe a vendor, which GL account a line posts to), while
Sage stays the only place these are edited: the setup command creates the modules with their
fields read-only for every profile but the integration user.
"""

from __future__ import annotations

from mapper import values as v
from mapper.drafts import Draft, Options, lookup
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
AP_INVOICE_SOURCES = {"Name": "InvoiceNo", "Invoice_No": "InvoiceNo", "Comment": "Comment"}
GL_ACCOUNT_SOURCES = {
    "Name": "AccountDesc",
    "Account_No": "Account",
    "Description": "AccountDesc",
    "Main_Account": "MainAccountCode",
    "Account_Group": "AccountGroup",
}
GL_GROUP_SOURCES = {"Name": "AccountGroupDesc", "Group_Code": "AccountGroup"}


def ap_invoice(row: Row, key: str, options: Options) -> list[Draft]:
    """AP_OpenInvoice -> Sage_AP_Invoices, linked to the vendor."""
    vendor_key = v.division_key(row, "APDivisionNo", "VendorNo")
    number = v.required_text(row, "InvoiceNo", "Name")
    record = {
        "Name": f"{vendor_key} {number}",
        "Invoice_No": number,
        "Invoice_Date": v.sage_date(row, "InvoiceDate"),
        "Due_Date": v.sage_date(row, "InvoiceDueDate"),
        "Invoice_Amount": v.money(row, "InvoiceAmt"),
        "Balance": v.money(row, "Balance"),
        "Terms_Code": v.text(row, "TermsCode"),
        "Purchase_Order_No": v.text(row, "PurchaseOrderNo"),
        "On_Hold": v.flag(row, "HoldPayment"),
        "Comment": v.text(row, "Comment"),
        "Sage_AP_Invoice_Key": key,
    }
    links = [lookup("Vendor", "Vendors", vendor_key)]
    return [Draft("Sage_AP_Invoices", key, v.compact(record), AP_INVOICE_SOURCES, links)]


def _account_type(row: Row) -> str | None:
    code = v.text(row, "AccountType")
    if code is None:
        return None
    return f"{code} {GL_ACCOUNT_TYPES[code]}" if code in GL_ACCOUNT_TYPES else code


def gl_account(row: Row, key: str, options: Options) -> list[Draft]:
    """GL_Account -> Sage_GL_Accounts with its place in the hierarchy (group, type, main)."""
    number = v.required_text(row, "Account", "Name")
    description = v.text(row, "AccountDesc")
    group = v.text(row, "AccountGroup")
    record = {
        "Name": f"{number} {description}" if description else number,
        "Account_No": number,
        "Description": description,
        "Main_Account": v.text(row, "MainAccountCode"),
        "Account_Type": _account_type(row),
        "Account_Group": group,
        "Status": v.code(row, "Status", GL_STATUS),
        "Sage_GL_Account_Key": key,
    }
    # Not required: a tenant may sync accounts without groups; the group text stays anyway.
    links = [lookup("Group", "Sage_GL_Account_Groups", group, required=False)] if group else []
    return [Draft("Sage_GL_Accounts", key, v.compact(record), GL_ACCOUNT_SOURCES, links)]


def gl_account_group(row: Row, key: str, options: Options) -> list[Draft]:
    """GL_AccountGroup -> Sage_GL_Account_Groups."""
    code = v.required_text(row, "AccountGroup", "Name")
    description = v.text(row, "AccountGroupDesc")
    record = {
        "Name": f"{code} {description}" if description else code,
        "Group_Code": code,
        "Account_Category": v.text(row, "AccountCategory"),
        "Account_Type": _account_type(row),
        "Cash_Flows_Type": v.text(row, "CashFlowsType"),
        "Sage_GL_Group_Code": key,
    }
    return [Draft("Sage_GL_Account_Groups", key, v.compact(record), GL_GROUP_SOURCES)]
