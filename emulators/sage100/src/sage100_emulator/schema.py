"""Column dictionaries of the Sage 100 tables besides AR_Customer (sage100.md §3).

Lengths follow the reference (the wider UtahGooner DDL where it differs from FLOR). Columns the
reference does not name are left out rather than invented, except where noted "unconfirmed".
Dates are 8-character "YYYYMMDD" strings, times decimal hours, amounts numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sage100_emulator.columns import AR_CUSTOMER_COLUMNS, Column, Kind


def _t(name: str, length: int, default: str = "", choices: tuple[str, ...] = ()) -> Column:
    return Column(name, Kind.TEXT, length, default, choices)


def _n(name: str) -> Column:
    return Column(name, Kind.NUMBER, 0, 0.0)


def _d(name: str) -> Column:
    return Column(name, Kind.TEXT, 8)


AUDIT = (
    _d("DateCreated"),
    _t("TimeCreated", 8),
    _t("UserCreatedKey", 10),
    _d("DateUpdated"),
    _t("TimeUpdated", 8),
    _t("UserUpdatedKey", 10),
)
_ADDRESS = (
    _t("AddressLine1", 40),
    _t("AddressLine2", 40),
    _t("AddressLine3", 40),
    _t("City", 30),
    _t("State", 2),
    _t("ZipCode", 10),
    _t("CountryCode", 3),
)


@dataclass(frozen=True)
class TableSpec:
    """One Sage table: its columns and primary key (KPRIMARY) columns, in key order."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Zero-filled key columns and their width (e.g. divisions "01", line keys "000001").
    zero_fill: dict[str, int] = field(default_factory=dict)

    @property
    def by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}


AR_CUSTOMER = TableSpec(
    "AR_Customer",
    ("ARDivisionNo", "CustomerNo"),
    AR_CUSTOMER_COLUMNS,
    {"ARDivisionNo": 2},
)

AR_CUSTOMER_CONTACT = TableSpec(
    "AR_CustomerContact",
    ("ARDivisionNo", "CustomerNo", "ContactCode"),
    (
        _t("ARDivisionNo", 2),
        _t("CustomerNo", 20),
        _t("ContactCode", 10),
        _t("ContactName", 50),
        *_ADDRESS,
        _t("Salutation", 10),
        _t("ContactTitle", 15),
        _t("TelephoneNo1", 20),
        _t("TelephoneExt1", 6),
        _t("TelephoneNo2", 20),
        _t("TelephoneExt2", 6),
        _t("FaxNo", 20),
        _t("EmailAddress", 50),
        _t("ContactNotes", 2048),
        *AUDIT,
    ),
    {"ARDivisionNo": 2},
)

AP_VENDOR = TableSpec(
    "AP_Vendor",
    ("APDivisionNo", "VendorNo"),
    (
        _t("APDivisionNo", 2),
        _t("VendorNo", 7),
        _t("VendorName", 30),
        *_ADDRESS,
        _t("PrimaryContact", 10),
        _t("TelephoneNo", 17),
        _t("TelephoneExt", 5),
        _t("FaxNo", 17),
        _t("EmailAddress", 250),
        _t("URLAddress", 50),
        _t("TermsCode", 2, "00"),
        _t("Reference", 15),
        _t("VendorStatus", 1, "A", ("A", "I", "T")),
        _t("HoldPayment", 1, "N", ("Y", "N")),
        _t("TaxpayerIDSocialSecurityNo", 9),
        _t("Comment", 30),
        _t("Sort", 10),
        _d("LastPurchaseDate"),
        _d("LastPaymentDate"),
        _n("BalanceDue"),
        *AUDIT,
    ),
    # Numeric vendor numbers zero-filled to 7 by analogy with customer numbers (unconfirmed).
    {"APDivisionNo": 2, "VendorNo": 7},
)

# AP_OpenInvoice is not in the reference's data dictionary; key and columns follow the FLOR
# layout as commonly mirrored (APDivisionNo+VendorNo+InvoiceNo+HeaderSeqNo): unconfirmed.
AP_OPEN_INVOICE = TableSpec(
    "AP_OpenInvoice",
    ("APDivisionNo", "VendorNo", "InvoiceNo", "HeaderSeqNo"),
    (
        _t("APDivisionNo", 2),
        _t("VendorNo", 7),
        _t("InvoiceNo", 10),
        _t("HeaderSeqNo", 6),
        _d("InvoiceDate"),
        _d("InvoiceDueDate"),
        _t("TermsCode", 2),
        _t("PurchaseOrderNo", 7),
        _n("InvoiceAmt"),
        _n("Balance"),
        *AUDIT,
    ),
    {"APDivisionNo": 2, "HeaderSeqNo": 6},
)

GL_ACCOUNT = TableSpec(
    "GL_Account",
    ("AccountKey",),
    (
        _t("AccountKey", 9),
        _t("AccountDesc", 50),
        _t("Account", 41),
        _t("RawAccount", 32),
        _t("MainAccountCode", 15),
        _t("Status", 1, "A", ("A", "I", "D")),
        _t("AccountType", 2),
        _t("AccountGroup", 15),
        _t("AccountCategory", 1),
        _t("CompanyCode", 3),
        *AUDIT,
    ),
    {"AccountKey": 9},
)

GL_ACCOUNT_GROUP = TableSpec(
    "GL_AccountGroup",
    ("AccountGroup",),
    (
        _t("AccountGroup", 15),
        _t("AccountGroupDesc", 40),
        _t("AccountCategory", 1),
        _t("AccountType", 2),
        _t("CashFlowsType", 1),
        *AUDIT,
    ),
)

SO_HEADER = TableSpec(
    "SO_SalesOrderHeader",
    ("SalesOrderNo",),
    (
        _t("SalesOrderNo", 7),
        _d("OrderDate"),
        _t("OrderType", 1, "S", ("S", "B", "Q", "M", "R", "P")),
        _t("OrderStatus", 1, "N", ("N", "O", "C", "H")),
        _t("ARDivisionNo", 2),
        _t("CustomerNo", 20),
        _t("BillToName", 50),
        _t("ShipToCode", 4),
        _t("ShipVia", 15),
        _t("CustomerPONo", 30),
        _t("WarehouseCode", 3),
        _t("TermsCode", 2),
        _t("SalespersonDivisionNo", 2),
        _t("SalespersonNo", 4),
        _n("TaxableAmt"),
        _n("NonTaxableAmt"),
        _n("SalesTaxAmt"),
        _n("FreightAmt"),
        _n("DiscountAmt"),
        _t(
            "CRMOpportunityID", 20
        ),  # docs/reference/sage100.md: SO headers carry the CRM ids (length: a choice)
        *AUDIT,
    ),
    {"SalesOrderNo": 7, "ARDivisionNo": 2},
)

SO_DETAIL = TableSpec(
    "SO_SalesOrderDetail",
    ("SalesOrderNo", "LineKey"),
    (
        _t("SalesOrderNo", 7),
        _t("LineKey", 6),
        _t("LineSeqNo", 14),
        _t("ItemCode", 30),
        _t("ItemType", 1, "1"),
        _t("ItemCodeDesc", 30),
        _t("WarehouseCode", 3),
        _t("UnitOfMeasure", 4),
        _n("QuantityOrdered"),
        _n("QuantityShipped"),
        _n("UnitPrice"),
        _n("ExtensionAmt"),
    ),
    {"SalesOrderNo": 7, "LineKey": 6},
)

AR_INVOICE_HISTORY = TableSpec(
    "AR_InvoiceHistoryHeader",
    ("InvoiceNo", "HeaderSeqNo"),
    (
        _t("InvoiceNo", 7),
        _t("HeaderSeqNo", 6),
        _t("ModuleCode", 3, "S/O"),
        _t("InvoiceType", 2, "IN", ("IN", "CM", "DM", "FC", "CA", "AD", "XD")),
        _d("InvoiceDate"),
        _t("ARDivisionNo", 2),
        _t("CustomerNo", 20),
        _t("SalesOrderNo", 7),
        _t("CustomerPONo", 30),
        _t("TermsCode", 2),
        _n("TaxableSalesAmt"),
        _n("NonTaxableSalesAmt"),
        _n("FreightAmt"),
        _n("SalesTaxAmt"),
        _t("CRMOpportunityID", 20),  # copied from the order when invoiced
        *AUDIT,
    ),
    {"InvoiceNo": 7, "HeaderSeqNo": 6, "ARDivisionNo": 2},
)

# sage100.md §3: PK ARDivisionNo+CustomerNo+InvoiceNo+InvoiceType and the columns it lists
# (UtahGooner DDL). A paid invoice keeps its row at Balance 0 until the period-end purge.
AR_OPEN_INVOICE = TableSpec(
    "AR_OpenInvoice",
    ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType"),
    (
        _t("ARDivisionNo", 2),
        _t("CustomerNo", 20),
        _t("InvoiceNo", 7),
        _t("InvoiceType", 2, "IN", ("IN", "CM", "DM", "FC", "CA", "AD", "XD")),
        _d("InvoiceDate"),
        _d("InvoiceDueDate"),
        _t("TermsCode", 2),
        _t("CustomerPONo", 30),
        _n("TaxableAmt"),
        _n("NonTaxableAmt"),
        _n("FreightAmt"),
        _n("SalesTaxAmt"),
        _n("DiscountAmt"),
        _n("Balance"),
        *AUDIT,
    ),
    {"ARDivisionNo": 2, "InvoiceNo": 7},
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        AR_CUSTOMER,
        AR_CUSTOMER_CONTACT,
        AP_VENDOR,
        AP_OPEN_INVOICE,
        GL_ACCOUNT,
        GL_ACCOUNT_GROUP,
        SO_HEADER,
        SO_DETAIL,
        AR_INVOICE_HISTORY,
        AR_OPEN_INVOICE,
    )
}
