"""Documents with lines: sales orders -> Sales_Orders, AR invoices (history and open) -> Invoices.

Zoho line items point at Products records (zoho-crm.md §4.2), so every distinct item code
becomes a Products upsert placed before the document; the writer resolves the links and waits
for a product that is not there yet. Sage stores no document total, so totals are computed.
"""

from __future__ import annotations

from typing import Any

from mlc_core.contracts import Entity, ZohoLookup
from mlc_core.entities.sage import SAGE_TABLES

from mapper import values as v
from mapper.drafts import OPEN_INVOICE_FIELD, Draft, Options, lookup
from mapper.values import MappingError, Row

ORDER_STATUS = {"N": "New", "O": "Open", "C": "Closed", "H": "On Hold"}
ORDER_TYPES = {
    "S": "Standard",
    "B": "Backorder",
    "Q": "Quote",
    "M": "Master",
    "R": "Repeating",
    "P": "Prospect Quote",
}
LINES_COLUMN = "Lines"  # the agent nests detail rows under the header (docs/sage-entities.md)
COMMENT_LINE = "4"  # ItemType 4: a comment line, no product
# Open AR invoices carry no lines; Zoho's Invoices need one, so a single summary line points
# at this product.
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


def _deal(row: Row, options: Options) -> dict[str, str] | None:
    """The Zoho deal behind the document: its id, kept in CRMOpportunityID or a UDF."""
    deal = v.text(row, options.deal_id_column)
    if deal is None:
        return None
    if not deal.isdigit():
        raise MappingError(options.deal_id_column, f"not a Zoho deal id (digits): {deal!r}")
    return {"id": deal}


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
    return Draft("Products", item, record, sources, primary=False)


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
        "Deal_Name": _deal(row, options),
        "Sage_SO_No": key,
        "Sage_Order_Date": v.sage_date(row, "OrderDate"),
        "Sage_Order_Type": v.code(row, "OrderType", ORDER_TYPES),
    }
    links = [lookup("Account_Name", "Accounts", account), *item_links]
    order = Draft("Sales_Orders", key, v.compact(record), DOCUMENT_SOURCES, links)
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
        "Deal_Name": _deal(row, options),
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
    return drafts


def ar_open_invoice(row: Row, key: str, options: Options) -> list[Draft]:
    """AR_OpenInvoice -> the same Zoho invoice, matched on Sage_Open_Invoice_Key; it brings
    what history lacks: balance, due date and whether it is still owed."""
    balance = v.money(row, "Balance")
    status = None if balance is None else "Paid" if balance == 0 else "Open"
    fields = {OPEN_INVOICE_FIELD: key, "Sage_Invoice_Status": status}
    drafts = _invoice(row, key, options, fields)
    drafts[-1].key_field = OPEN_INVOICE_FIELD
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
    fields["Deal"] = fields.pop("Deal_Name", None)
    links = [lookup("Account", "Accounts", account)]
    return Draft(module, key, v.compact(fields), {**INVOICE_SOURCES, "Name": "InvoiceNo"}, links)
