"""Documents with lines: sales orders -> Sales_Orders, AR invoices (history and open) -> Invoices.

Zoho line items point at Products records (zoho-crm.md §4.2), so every distinct item code
becomes a Products upsert placed before the document; the writer resolves the links and waits
for a product that is not there yet. Sage stores no document total, so totals are computed.

Each document is a RecordMapping (mapper.fields) for the tenant's options; its `prepare` reads
the account, the lines (and their products) once per row for the fields and links using them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

from mlc_core.contracts import Entity, ZohoLookup
from mlc_core.entities.sage import SAGE_TABLES

from mapper import values as v
from mapper.drafts import (
    DEAL_MODULE,
    OPEN_INVOICE_FIELD,
    ZOHO_ID,
    Draft,
    Options,
    deal_lookup,
    lookup,
)
from mapper.engine import compile_mapping
from mapper.fields import (
    Field,
    Prepared,
    RecordMapping,
    address,
    bound,
    column,
    computed,
    derived,
    key,
    money,
    prepared,
    sage_key,
    text,
)
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


# What invoicing sets on the deal behind the invoice (mapping.md, "Deals").
DEAL_UPDATE = ("Stage", "Amount")


def _deal_id(row: Row, column: str) -> tuple[str | None, list[str]]:
    """The Zoho deal behind the document, kept in CRMOpportunityID or a UDF: its id (digits),
    or a warning; the document is written either way, without a deal it cannot name."""
    try:
        deal = v.text(row, column)
    except MappingError as error:
        return None, [f"{column}: {str(error).split(': ', 1)[-1]}; written without its deal"]
    if deal is None or deal.isdigit():
        return deal, []
    return None, [f"{column}: not a Zoho deal id (digits): {deal!r}; written without its deal"]


def _deal_field(name: str, options: Options) -> Field:
    """The link to the deal: set by the writer from the record's lookup; empty in Sage, it
    is sent as null, so a deal id cleared in Sage unlinks the deal."""
    return Field(name, options.deal_id_column, read=_no_value, text_value=False)


def _no_value(row: Row) -> None:
    return None


def _with_deal(found: Prepared, row: Row, path: str, options: Options) -> str | None:
    """Adds the deal link (not required: a deal Zoho does not have leaves the document
    without it, with a warning) or the warning; returns the deal id."""
    deal, warnings = _deal_id(row, options.deal_id_column)
    found.warnings.extend(warnings)
    if deal is not None:
        found.links.append(deal_lookup(path, deal))
    return deal


def _deal_update(deal: str, amount: float, options: Options) -> Draft:
    """Invoicing moves the deal to the tenant's stage (default Closed Won) with the amount."""
    record = dict(zip(DEAL_UPDATE, (options.deal_stage, amount), strict=True))
    sources = {"Stage": "settings.deal_stage", "Amount": "Grand_Total"}
    return Draft(DEAL_MODULE, deal, record, sources, key_field=ZOHO_ID)


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


def _product_name(line: Row, item: str, found: Prepared) -> str:
    return v.text(line, "ItemCodeDesc") or item


PRODUCT = RecordMapping(
    "Products",
    (
        derived("Product_Name", "ItemCodeDesc", _product_name),
        derived("Product_Code", "ItemCode", sage_key),
        key("Sage_Item_Code"),
    ),
)
"""An item of a document's lines -> Products, keyed by its item code; never overridden."""
_PRODUCTS = compile_mapping(PRODUCT)


def _product(item: str, line: Row) -> Draft:
    return _PRODUCTS.drafts(line, item)[0]


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


def _header(
    row: Row, subform: str
) -> tuple[str, list[dict[str, Any]], list[Draft], float, list[ZohoLookup]]:
    account = v.division_key(row, "ARDivisionNo", "CustomerNo")
    return (account, *line_items(row, subform))


def _prepare_order(row: Row, key: str, *, options: Options) -> Prepared:
    account, items, products, subtotal, item_links = _header(row, "Ordered_Items")
    if not items:
        raise MappingError(LINES_COLUMN, "no item lines; Zoho Sales_Orders require Ordered_Items")
    values = {"Customer_No": account, _SUBTOTAL: subtotal, "Ordered_Items": items}
    links = [lookup("Account_Name", "Accounts", account), *item_links]
    found = Prepared(values, products, links)
    _with_deal(found, row, "Deal_Name", options)
    return found


_SUBTOTAL, _TOTALS = "line subtotal", "totals"


def _total(found: Prepared, row: Row, name: str) -> float:
    """One of _totals, computed at the first total field (after the header fields before
    it, so a row's problems are found in the order its fields are written)."""
    totals = found.values.get(_TOTALS)
    if totals is None:
        totals = found.values[_TOTALS] = _totals(row, found.values[_SUBTOTAL])
    return totals[name]


def _total_field(name: str) -> Field:
    return derived(name, None, lambda row, key, found: _total(found, row, name), text_value=False)


TOTALS = tuple(
    _total_field(n) for n in ("Sub_Total", "Tax", "Adjustment", "Discount", "Grand_Total")
)


def _subject(prefix: str) -> Field:
    return derived("Subject", None, lambda row, key, found: f"{prefix} {key}")


@cache
def sales_order(options: Options) -> RecordMapping:
    """SO_SalesOrderHeader (+ SO_SalesOrderDetail lines) -> Sales_Orders with Ordered_Items."""
    fields = (
        _subject("Sales order"),
        computed("Status", "OrderStatus", bound(v.code, "OrderStatus", ORDER_STATUS)),
        prepared("Customer_No", text_value=True),
        text("Purchase_Order", "CustomerPONo"),
        column("Due_Date", v.sage_date, "ShipExpireDate"),
        text("Carrier", "ShipVia"),
        *address("Billing", "BillTo"),
        *address("Shipping", "ShipTo"),
        *TOTALS,
        prepared("Ordered_Items", LINES_COLUMN),
        _deal_field("Deal_Name", options),
        key("Sage_SO_No"),
        column("Sage_Order_Date", v.sage_date, "OrderDate"),
        computed("Sage_Order_Type", "OrderType", bound(v.code, "OrderType", ORDER_TYPES)),
    )
    prepare = partial(_prepare_order, options=options)
    return RecordMapping("Sales_Orders", fields, links=_links, prepare=prepare)


def _links(row: Row, key: str, found: Prepared) -> list[ZohoLookup]:
    return found.links


def _summary_line(total: float) -> tuple[list[dict[str, Any]], list[Draft]]:
    product = _product(SUMMARY_ITEM, {"ItemCodeDesc": "Sage AR invoice"})
    return [{"Quantity": 1.0, "List_Price": total, "Description": "Invoice total in Sage"}], [
        product
    ]


def open_invoice_key(row: Row) -> str | None:
    """The AR_OpenInvoice key a history header stands for; None for a re-used number
    (HeaderSeqNo past 000000), which would otherwise take over the first one's record."""
    if (v.text(row, "HeaderSeqNo") or "000000") != "000000":
        return None
    values = {c: v.required_text(row, c, "the parent key") for c in ("ARDivisionNo", "CustomerNo")}
    values["InvoiceNo"] = v.required_text(row, "InvoiceNo", "Subject")
    values["InvoiceType"] = v.text(row, "InvoiceType") or "IN"
    return SAGE_TABLES[Entity.AR_OPEN_INVOICE].source_key(values)  # the poller's key for that row


def _prepare_invoice(
    row: Row, key: str, *, history: bool, custom: bool, options: Options
) -> Prepared:
    """An invoice's account, lines and totals; for a history header, the open invoice it
    stands for (matched after its own key, so an invoice in both tables is one record); for
    an open invoice, whether it is still owed."""
    values: dict[str, Any] = {}
    if history:
        values[OPEN_INVOICE_FIELD] = open_key = open_invoice_key(row)
    else:
        values["Sage_Invoice_Status"], open_key = _invoice_status(row), None
    account, items, products, subtotal, item_links = _header(row, "Invoiced_Items")
    values |= {"Customer_No": account, _TOTALS: _totals(row, subtotal)}
    also_match = [OPEN_INVOICE_FIELD] if open_key is not None else []
    if custom:
        found = Prepared(values, [], [lookup("Account", "Accounts", account)], also_match)
    else:
        if not items:
            items, products = _summary_line(values[_TOTALS]["Sub_Total"])
            item_links = [lookup("Invoiced_Items.0.Product_Name", "Products", SUMMARY_ITEM)]
        values["Invoiced_Items"] = items
        links = [lookup("Account_Name", "Accounts", account), *item_links]
        found = Prepared(values, products, links, also_match)
    deal = _with_deal(found, row, "Deal" if custom else "Deal_Name", options)
    if deal is not None and history:
        found.after.append(_deal_update(deal, values[_TOTALS]["Grand_Total"], options))
    return found


def _invoice_number(row: Row, key: str, found: Prepared) -> str:
    return f"Invoice {v.required_text(row, 'InvoiceNo', 'Subject')}"


def _invoice_status(row: Row) -> str | None:
    balance = v.money(row, "Balance")
    return None if balance is None else "Paid" if balance == 0 else "Open"


@cache
def ar_invoice(options: Options, *, history: bool = True) -> RecordMapping:
    """AR_InvoiceHistoryHeader -> Invoices, matched on its own key and then on the open
    invoice's; AR_OpenInvoice (history=False) -> the same Zoho invoice, matched on
    Sage_Open_Invoice_Key, with balance and status. Editions without Invoices: a custom
    module with the same header fields and no line items."""
    custom = options.invoice_module != "Invoices"
    own = (
        (key("Sage_Invoice_No"), prepared(OPEN_INVOICE_FIELD, text_value=True))
        if history
        else (key(OPEN_INVOICE_FIELD), prepared("Sage_Invoice_Status", "Balance", text_value=True))
    )
    deal = _deal_field("Deal" if custom else "Deal_Name", options)
    fields: tuple[Field, ...] = (
        derived("Name" if custom else "Subject", "InvoiceNo" if custom else None, _invoice_number),
        prepared("Customer_No", text_value=True),
        text("Purchase_Order", "CustomerPONo"),
        column("Invoice_Date", v.sage_date, "InvoiceDate"),
        column("Due_Date", v.sage_date, "InvoiceDueDate"),
        *(() if custom else (deal,)),
        text("Sage_Invoice_Type", "InvoiceType"),
        money("Sage_Balance", "Balance"),
        *own,
        *TOTALS,
    )
    if custom:
        fields += (deal,)
    else:
        fields += (*address("Billing", "BillTo"), prepared("Invoiced_Items", LINES_COLUMN))
    prepare = partial(_prepare_invoice, history=history, custom=custom, options=options)
    key_field = None if history else OPEN_INVOICE_FIELD
    return RecordMapping(options.invoice_module, fields, _links, prepare, key_field)


def ar_open_invoice(options: Options) -> RecordMapping:
    return ar_invoice(options, history=False)


DOCUMENTS: dict[Entity, Callable[[Options], RecordMapping]] = {
    Entity.SALES_ORDER: sales_order,
    Entity.AR_INVOICE: ar_invoice,
    Entity.AR_OPEN_INVOICE: ar_open_invoice,
}
