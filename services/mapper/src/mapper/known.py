"""The names a tenant's mapping file may refer to: Sage columns per entity and the Zoho
fields each entity's default mapping writes, so a typo in the file is caught when it loads.

Sage columns: sage100.md §3 (FLOR and the DDL mirrors), the audit columns, and what the
agent adds (`Lines`, `CustomerContactCode`, `PrimaryContact`). `UDF_*` columns are
site-specific and always allowed.
"""

from __future__ import annotations

import difflib

from mlc_core.contracts import Entity

from mapper.drafts import EXTERNAL_FIELDS, STATUS_FIELD
from mapper.limits import TEXT_LENGTHS
from mapper.zoho_schema import CUSTOM_FIELDS

UDF_PREFIX = "UDF_"
_AUDIT = "DateCreated TimeCreated UserCreatedKey DateUpdated TimeUpdated UserUpdatedKey"
_ADDRESS = "AddressLine1 AddressLine2 AddressLine3 City State ZipCode CountryCode"
_SALESPEOPLE = " ".join(
    f"SalespersonDivisionNo{n} SalespersonNo{n}" for n in ("", "2", "3", "4", "5")
)
_DOCUMENT = (
    "ARDivisionNo CustomerNo BillToDivisionNo BillToCustomerNo BillToName BillToAddress1"
    " BillToAddress2 BillToAddress3 BillToCity BillToState BillToZipCode BillToCountryCode"
    " ShipToCode ShipToName ShipToAddress1 ShipToAddress2 ShipToAddress3 ShipToCity ShipToState"
    " ShipToZipCode ShipToCountryCode ShipVia CustomerPONo FOB WarehouseCode ConfirmTo Comment"
    " TermsCode TaxSchedule EmailAddress PaymentType TaxableAmt NonTaxableAmt SalesTaxAmt"
    " FreightAmt DiscountAmt DepositAmt Weight CRMUserID CRMCompanyID CRMPersonID"
    f" CRMOpportunityID CRMProspectID SalesOrderNo Lines {_SALESPEOPLE}"
)
_COLUMNS = {
    Entity.AR_CUSTOMER: (
        f"ARDivisionNo CustomerNo CustomerName {_ADDRESS} TelephoneNo TelephoneExt FaxNo"
        " EmailAddress URLAddress ContactCode ShipMethod TaxSchedule TaxExemptNo TermsCode"
        f" {_SALESPEOPLE} Comment SortField CustomerType PriceLevel CreditHold CustomerStatus"
        " InactiveReasonCode OpenItemCustomer StatementCycle PrimaryShipToCode"
        " DefaultPaymentType DateEstablished DateLastActivity DateLastPayment DateLastStatement"
        " DateLastAging CreditLimit CurrentBalance AgingCategory1 AgingCategory2"
        " AgingCategory3 AgingCategory4 BalanceForward OpenOrderAmt LastPaymentAmt"
        " HighestStmntBalance AvgDaysPaymentInvoice AvgDaysOverDue CustomerDiscountRate"
        " ServiceChargeRate TelephoneType"
    ),
    Entity.CUSTOMER_CONTACT: (
        f"ARDivisionNo CustomerNo ContactCode ContactName {_ADDRESS} Salutation ContactTitle"
        " TelephoneNo1 TelephoneExt1 TelephoneNo2 TelephoneExt2 FaxNo EmailAddress"
        " ContactNotes EBMUserID TelephoneType1 TelephoneType2 PrimaryTelephone1"
        " PrimaryTelephone2 CustomerContactCode PrimaryContact"
    ),
    Entity.AP_VENDOR: (
        f"APDivisionNo VendorNo VendorName {_ADDRESS} PrimaryContact TelephoneNo TelephoneExt"
        " FaxNo EmailAddress URLAddress TermsCode Reference VendorStatus InactiveReasonCode"
        " CreditCardVendor HoldPayment ElectronicPayment TaxSchedule TaxClass AccountKey"
        " SeparateCheck Comment Sort VendorType Form1099 TaxpayerIDSocialSecurityNo Box1099"
        " LastPurchaseDate LastPaymentDate LastCheckNo LastCheckAmt BalanceDue AverageDaysToPay"
    ),
    Entity.AP_OPEN_INVOICE: (
        "APDivisionNo VendorNo InvoiceNo HeaderSeqNo InvoiceDate InvoiceDueDate InvoiceAmt"
        " Balance TermsCode PurchaseOrderNo HoldPayment Comment DiscountDate DiscountAmt"
    ),
    Entity.GL_ACCOUNT: (
        "AccountKey AccountDesc Account RawAccount MainAccountCode DateStart DateEnd Status"
        " ClearBalance AccountType CashFlowsType RollupCode1 RollupCode2 RollupCode3"
        " RollupCode4 AccountGroup AccountCategory CompanyCode"
    ),
    Entity.GL_ACCOUNT_GROUP: (
        "AccountGroup AccountGroupDesc AccountCategory AccountType CashFlowsType"
    ),
    Entity.SALES_ORDER: (
        f"{_DOCUMENT} OrderDate OrderType OrderStatus MasterRepeatingOrderNo ShipExpireDate"
        " CancelReasonCode LastInvoiceOrderNo LastInvoiceOrderDate CurrentInvoiceNo"
    ),
    Entity.AR_INVOICE: (
        f"{_DOCUMENT} InvoiceNo HeaderSeqNo ModuleCode InvoiceType InvoiceDate InvoiceDueDate"
        " TaxableSalesAmt NonTaxableSalesAmt Balance"
    ),
    Entity.AR_OPEN_INVOICE: (
        "ARDivisionNo CustomerNo InvoiceNo InvoiceType InvoiceDate InvoiceDueDate TermsCode"
        " CustomerPONo TaxableAmt NonTaxableAmt FreightAmt SalesTaxAmt DiscountAmt Balance"
        " CRMOpportunityID"
    ),
}
SAGE_COLUMNS: dict[Entity, frozenset[str]] = {
    entity: frozenset(f"{names} {_AUDIT}".split()) for entity, names in _COLUMNS.items()
}
# Zoho fields the document and reference mappings write besides those in the limit tables.
_DOCUMENT_FIELDS = "Subject Due_Date Sub_Total Tax Adjustment Discount Grand_Total Deal_Name"
_EXTRA_FIELDS = {
    "Sales_Orders": f"{_DOCUMENT_FIELDS} Ordered_Items",
    "Invoices": f"{_DOCUMENT_FIELDS} Invoiced_Items Invoice_Date",
    "Sage_Invoices": "Name",
    "Sage_AP_Invoices": "Name",
    "Sage_GL_Accounts": "Name",
    "Sage_GL_Account_Groups": "Name",
}


def module_fields(module: str) -> frozenset[str]:
    """The Zoho fields our mapping of `module` can write."""
    names = set(TEXT_LENGTHS.get(module, {})) | {EXTERNAL_FIELDS[module], STATUS_FIELD}
    names |= {spec.api_name for spec in CUSTOM_FIELDS.get(module, [])}
    return frozenset(names | set(_EXTRA_FIELDS.get(module, "").split()))


def is_known_column(entity: Entity, column: str) -> bool:
    return column.startswith(UDF_PREFIX) or column in SAGE_COLUMNS[entity]


def did_you_mean(name: str, known: frozenset[str] | set[str]) -> str:
    """' (did you mean 'X'?)' for the closest known name, or '' when none is close."""
    by_case = {k.lower(): k for k in known}
    if name.lower() in by_case:
        return f"; did you mean {by_case[name.lower()]!r}?"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""
