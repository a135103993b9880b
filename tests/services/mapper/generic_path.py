"""The generic mapping path as it was before the one engine (main at fcb5539), kept as an
independent reference for tests: documents and reference data built by code, the tenant's map
applied to the finished record (`apply`), then Zoho's limits checked field by field
(`check_record`). tests/services/mapper/test_engine.py compares the engine with it."""

from __future__ import annotations

from typing import Any

from mapper import values as v
from mapper.drafts import OPEN_INVOICE_FIELD, Draft, Options, deal_lookup, lookup
from mapper.limits import (
    DEFAULT_TEXT_LENGTH,
    FORMATS,
    TEXT_LENGTHS,
    _lengths_of,
    mandatory_fields,
    max_length,
)
from mapper.profile import READERS, AddedField, TenantMap, translate
from mapper.values import MappingError, Row
from mlc_core.contracts import Entity, ZohoLookup
from mlc_core.entities.sage import SAGE_TABLES

ORDER_STATUS = {"N": "New", "O": "Open", "C": "Closed", "H": "On Hold"}
ORDER_TYPES = {
    "S": "Standard",
    "B": "Backorder",
    "Q": "Quote",
    "M": "Master",
    "R": "Repeating",
    "P": "Prospect Quote",
}
LINES_COLUMN = "Lines"
COMMENT_LINE = "4"
SUMMARY_ITEM = "SAGE-AR-INVOICE"
DOCUMENT_SOURCES = {
    "Purchase_Order": "CustomerPONo",
    "Carrier": "ShipVia",
    "Billing_Street": "BillToAddress1+BillToAddress2+BillToAddress3",
    "Billing_City": "BillToCity",
    "Billing_State": "BillToState",
    "Billing_Code": "BillToZipCode",
    "Billing_Country": "BillToCountryCode",
    "Shipping_Street": "ShipToAddress1+ShipToAddress2+ShipToAddress3",
    "Shipping_City": "ShipToCity",
    "Shipping_State": "ShipToState",
    "Shipping_Code": "ShipToZipCode",
    "Shipping_Country": "ShipToCountryCode",
}


def _address(row: Row, prefix: str, sage: str) -> dict[str, Any]:
    lines = (f"{sage}Address1", f"{sage}Address2", f"{sage}Address3")
    return {
        f"{prefix}_Street": v.street(row, *lines),
        f"{prefix}_City": v.text(row, f"{sage}City"),
        f"{prefix}_State": v.text(row, f"{sage}State"),
        f"{prefix}_Code": v.text(row, f"{sage}ZipCode"),
        f"{prefix}_Country": v.country(row, f"{sage}CountryCode"),
    }


def _deal(row: Row, options: Options) -> tuple[str | None, list[str]]:
    """The Zoho deal behind the document (its id, in CRMOpportunityID or a UDF), or a warning:
    the document is written without a deal it cannot name."""
    column = options.deal_id_column
    try:
        deal = v.text(row, column)
    except MappingError as error:
        return None, [f"{column}: {str(error).split(': ', 1)[-1]}; written without its deal"]
    if deal is not None and not deal.isdigit():
        return None, [f"{column}: not a Zoho deal id (digits): {deal!r}; written without its deal"]
    return deal, []


def _with_deal(draft: Draft, row: Row, options: Options, path: str) -> str | None:
    deal, draft.warnings = _deal(row, options)
    if deal is not None:
        draft.lookups.append(deal_lookup(path, deal))
    return deal


def _lines(row: Row) -> list[tuple[int, Row]]:
    """The item lines with their position in Sage's list (errors name that position)."""
    lines = row.get(LINES_COLUMN) or []
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise MappingError(LINES_COLUMN, "expected a list of detail rows")
    items = []
    for index, line in enumerate(lines):
        try:
            if v.text(line, "ItemType") != COMMENT_LINE:
                items.append((index, line))
        except MappingError as error:
            raise _line_column(error, index) from None
    return items


def _line_column(error: MappingError, index: int) -> MappingError:
    return MappingError(f"{LINES_COLUMN}[{index}].{error.field}", str(error).split(": ", 1)[1])


def _line_item(line: Row) -> tuple[str, dict[str, Any], float]:
    """(item code, Zoho row without its product link, line total)."""
    item = v.required_text(line, "ItemCode", "Product_Name on every line")
    qty = v.quantity(line, "QuantityOrdered")
    if qty is None:  # invoice history lines carry what was shipped
        qty = v.quantity(line, "QuantityShipped") or 0.0
    price = v.money(line, "UnitPrice") or 0.0
    percent = v.number(line, "LineDiscountPercent") or 0.0
    gross = round(qty * price, 2)
    discount = round(gross * percent / 100, 2)
    total = v.money(line, "ExtensionAmt")
    row: dict[str, Any] = {"Quantity": qty, "List_Price": price, "Discount": discount}
    row["Description"] = v.text(line, "ItemCodeDesc")
    return item, v.compact(row), gross - discount if total is None else total


def _product(item: str, line: Row) -> Draft:
    name = v.text(line, "ItemCodeDesc") or item
    record = {"Product_Name": name, "Product_Code": item, "Sage_Item_Code": item}
    sources = {"Product_Name": "ItemCodeDesc", "Product_Code": "ItemCode"}
    return Draft("Products", item, record, sources)


def line_items(
    row: Row, subform: str
) -> tuple[list[dict[str, Any]], list[Draft], float, list[ZohoLookup]]:
    """(Zoho rows, products to upsert first, sum of line totals, the rows' product links)."""
    rows: list[dict[str, Any]] = []
    products: dict[str, Draft] = {}
    links: list[ZohoLookup] = []
    subtotal = 0.0
    for index, line in _lines(row):
        try:
            item, zoho_row, total = _line_item(line)
        except MappingError as error:
            raise _line_column(error, index) from None
        products.setdefault(item, _product(item, line))
        links.append(lookup(f"{subform}.{len(rows)}.Product_Name", "Products", item))
        rows.append(zoho_row)
        subtotal += total
    return rows, list(products.values()), round(subtotal, 2), links


def _totals(row: Row, subtotal: float) -> dict[str, float]:
    """Grand total = taxable + non-taxable + tax + freight - discount (Sage stores no total)."""
    taxable, non_taxable = v.money(row, "TaxableAmt"), v.money(row, "NonTaxableAmt")
    if taxable is None and non_taxable is None:
        taxable = v.money(row, "TaxableSalesAmt")
        non_taxable = v.money(row, "NonTaxableSalesAmt")
    net = (
        subtotal if taxable is None and non_taxable is None else (taxable or 0) + (non_taxable or 0)
    )
    tax, freight = v.money(row, "SalesTaxAmt") or 0.0, v.money(row, "FreightAmt") or 0.0
    discount = v.money(row, "DiscountAmt") or 0.0
    return {
        "Sub_Total": round(net, 2),
        "Tax": tax,
        "Adjustment": freight,
        "Discount": discount,
        "Grand_Total": round(net + tax + freight - discount, 2),
    }


def sales_order(row: Row, key: str, options: Options) -> list[Draft]:
    """SO_SalesOrderHeader (+ SO_SalesOrderDetail lines) -> Sales_Orders with Ordered_Items."""
    account = v.division_key(row, "ARDivisionNo", "CustomerNo")
    items, products, subtotal, item_links = line_items(row, "Ordered_Items")
    if not items:
        raise MappingError(LINES_COLUMN, "no item lines; Zoho Sales_Orders require Ordered_Items")
    record = {
        "Subject": f"Sales order {key}",
        "Status": v.code(row, "OrderStatus", ORDER_STATUS),
        "Customer_No": account,
        "Purchase_Order": v.text(row, "CustomerPONo"),
        "Due_Date": v.sage_date(row, "ShipExpireDate"),
        "Carrier": v.text(row, "ShipVia"),
        **_address(row, "Billing", "BillTo"),
        **_address(row, "Shipping", "ShipTo"),
        **_totals(row, subtotal),
        "Ordered_Items": items,
        "Sage_SO_No": key,
        "Sage_Order_Date": v.sage_date(row, "OrderDate"),
        "Sage_Order_Type": v.code(row, "OrderType", ORDER_TYPES),
    }
    links = [lookup("Account_Name", "Accounts", account), *item_links]
    order = Draft("Sales_Orders", key, v.compact(record), DOCUMENT_SOURCES, links)
    _with_deal(order, row, options, "Deal_Name")
    return [*products, order]


INVOICE_SOURCES = {
    **DOCUMENT_SOURCES,
    "Invoice_Date": "InvoiceDate",
    "Due_Date": "InvoiceDueDate",
    "Sage_Balance": "Balance",
    "Sage_Invoice_Type": "InvoiceType",
}


def _summary_line(total: float) -> tuple[list[dict[str, Any]], list[Draft]]:
    product = _product(SUMMARY_ITEM, {"ItemCodeDesc": "Sage AR invoice"})
    return [{"Quantity": 1.0, "List_Price": total, "Description": "Invoice total in Sage"}], [
        product
    ]


def _invoice_fields(row: Row, account: str, options: Options) -> dict[str, Any]:
    number = v.required_text(row, "InvoiceNo", "Subject")
    return {
        "Subject": f"Invoice {number}",
        "Customer_No": account,
        "Purchase_Order": v.text(row, "CustomerPONo"),
        "Invoice_Date": v.sage_date(row, "InvoiceDate"),
        "Due_Date": v.sage_date(row, "InvoiceDueDate"),
        "Sage_Invoice_Type": v.text(row, "InvoiceType"),
        "Sage_Balance": v.money(row, "Balance"),
    }


def open_invoice_key(row: Row) -> str | None:
    """The AR_OpenInvoice key a history header stands for; None for a re-used number
    (HeaderSeqNo past 000000), which would otherwise take over the first one's record."""
    if (v.text(row, "HeaderSeqNo") or "000000") != "000000":
        return None
    values = {c: v.required_text(row, c, "the parent key") for c in ("ARDivisionNo", "CustomerNo")}
    values["InvoiceNo"] = v.required_text(row, "InvoiceNo", "Subject")
    values["InvoiceType"] = v.text(row, "InvoiceType") or "IN"
    return SAGE_TABLES[Entity.AR_OPEN_INVOICE].source_key(values)  # the poller's key for that row


def ar_invoice(row: Row, key: str, options: Options) -> list[Draft]:
    """AR_InvoiceHistoryHeader -> Invoices (or the tenant's custom module), matched on its own
    key and then on the open invoice's, so an invoice in both tables is one Zoho record."""
    open_key = open_invoice_key(row)
    fields = {"Sage_Invoice_No": key, OPEN_INVOICE_FIELD: open_key}
    drafts = _invoice(row, key, options, fields)
    if open_key is not None:
        drafts[-1].also_match = [OPEN_INVOICE_FIELD]
    path = "Deal_Name" if options.invoice_module == "Invoices" else "Deal"
    deal = _with_deal(drafts[-1], row, options, path)
    if deal is not None:
        stage = {"Stage": options.deal_stage, "Amount": drafts[-1].record["Grand_Total"]}
        drafts.append(Draft("Deals", deal, stage, {}, key_field="id"))
    return drafts


def ar_open_invoice(row: Row, key: str, options: Options) -> list[Draft]:
    """AR_OpenInvoice -> the same Zoho invoice, matched on Sage_Open_Invoice_Key; it brings
    what history lacks: balance, due date and whether it is still owed."""
    balance = v.money(row, "Balance")
    status = None if balance is None else "Paid" if balance == 0 else "Open"
    fields = {OPEN_INVOICE_FIELD: key, "Sage_Invoice_Status": status}
    drafts = _invoice(row, key, options, fields)
    drafts[-1].key_field = OPEN_INVOICE_FIELD
    _with_deal(drafts[-1], row, options, "Deal_Name" if drafts[-1].module == "Invoices" else "Deal")
    return drafts


def _invoice(row: Row, key: str, options: Options, own: dict[str, Any]) -> list[Draft]:
    account = v.division_key(row, "ARDivisionNo", "CustomerNo")
    items, products, subtotal, item_links = line_items(row, "Invoiced_Items")
    totals = _totals(row, subtotal)
    record = {**_invoice_fields(row, account, options), **own, **totals}
    if options.invoice_module != "Invoices":
        return [_custom_invoice(options.invoice_module, key, record, account)]
    if not items:
        items, products = _summary_line(totals["Sub_Total"])
        item_links = [lookup("Invoiced_Items.0.Product_Name", "Products", SUMMARY_ITEM)]
    record.update(_address(row, "Billing", "BillTo"), Invoiced_Items=items)
    links = [lookup("Account_Name", "Accounts", account), *item_links]
    invoice = Draft("Invoices", key, v.compact(record), INVOICE_SOURCES, links)
    return [*products, invoice]


def _custom_invoice(module: str, key: str, record: dict[str, Any], account: str) -> Draft:
    """Editions without Invoices: a custom module; no line items, same header fields."""
    fields = {"Name": record.pop("Subject"), **record}
    links = [lookup("Account", "Accounts", account)]
    return Draft(module, key, v.compact(fields), {**INVOICE_SOURCES, "Name": "InvoiceNo"}, links)


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


def check_record(module: str, record: dict[str, Any], sources: dict[str, str]) -> None:
    """Raise a MappingError naming the Sage column behind the first value Zoho would refuse.

    Runs for every record, so the common case (a short text without a format) stays cheap.
    """
    for field in mandatory_fields(module):
        if record.get(field) in (None, "", []):
            raise MappingError(
                sources.get(field, field), f"is empty; Zoho {module} require {field}"
            )
    lengths, text_fields = _lengths_of(module), TEXT_LENGTHS.get(module, {})
    for field, value in record.items():
        if isinstance(value, str):
            if len(value) > lengths.get(field, DEFAULT_TEXT_LENGTH) or field in FORMATS:
                _check_text(module, field, value, sources)
        elif value is not None and field in text_fields:
            raise MappingError(sources.get(field, field), f"Zoho {module}.{field} takes text")


def _check_text(module: str, field: str, value: str, sources: dict[str, str]) -> None:
    if len(value) > (limit := max_length(module, field)):
        source = sources.get(field, field)
        raise MappingError(source, f"{len(value)} characters; Zoho {module}.{field} allows {limit}")
    pattern = FORMATS.get(field)
    if pattern is not None and not pattern[0].match(value):
        raise MappingError(sources.get(field, field), f"{pattern[1]}: {value!r}")


def apply(tenant_map: TenantMap, entity: Entity, draft: Draft, row: Row) -> None:
    spec = tenant_map.entities.get(entity)
    if spec is None:
        return
    record, sources = draft.record, draft.sources
    for old, new in spec.rename.items():
        if old in record:
            record[new] = record.pop(old)
        if old in sources:
            sources[new] = sources.pop(old)
    for name in spec.skip:
        record.pop(name, None)
    for name, added in spec.fields.items():
        _add(tenant_map, record, sources, name, added, row)
    for name, table in spec.codes.items():
        record[name] = translate(record.get(name), tenant_map.codes[table])
    for name, value in spec.defaults.items():
        if record.get(name) in (None, ""):
            record[name] = value
    draft.record = v.compact(record)


def _add(
    tenant_map: TenantMap,
    record: dict[str, Any],
    sources: dict[str, str],
    name: str,
    added: AddedField,
    row: Row,
) -> None:
    value = added.value if added.column is None else READERS[added.type](row, added.column)
    if added.codes is not None:
        value = translate(value, tenant_map.codes[added.codes])
    if added.column is not None:
        sources[name] = added.column
    if value is not None:
        record[name] = value


MAPPINGS = {
    Entity.SALES_ORDER: sales_order,
    Entity.AR_INVOICE: ar_invoice,
    Entity.AR_OPEN_INVOICE: ar_open_invoice,
    Entity.AP_OPEN_INVOICE: ap_invoice,
    Entity.GL_ACCOUNT: gl_account,
    Entity.GL_ACCOUNT_GROUP: gl_account_group,
}


def drafts_for(entity: Entity, tenant_map: TenantMap, row: Row, key: str) -> list[Draft]:
    """What the generic path made of a document or reference row: code, then the tenant's
    map on the entity's own (last) record, then every record checked."""
    drafts = MAPPINGS[entity](row, key, tenant_map.options)
    own = [d for d in drafts if d.module != "Deals"]  # a deal update comes after the record
    apply(tenant_map, entity, own[-1], row)
    for draft in own:
        check_record(draft.module, draft.record, draft.sources)
    return drafts
