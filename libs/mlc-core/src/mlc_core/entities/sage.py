"""The Sage side of every entity, one `SageTable` each: the table, its key, the BOI object the
agent reads it through, its columns and the default poll cadence. The agent's BOI targets, the
poller's cadences, lengths and key checks, and the mapper's known columns derive from these.

source_key: when the first key column is a division ("01"), the key starts "01-"; the remaining
key columns follow, joined by ":". Examples: "01-ABF", "01-ABF:JSMITH", "000000010", "0000123",
"0100234:000000". ":" never appears inside a valid key value, so a key parses back unambiguously.
docs/sage-entities.md documents each entity's key and columns.

Columns (sage100.md §3, the wider DDL lengths where they differ): `Name:N` is a text column Sage
holds at most N characters of; a bare name is a column the connector reads without a length
check. The agent's additions (`Lines`, `CustomerContactCode`, `PrimaryContact`) are listed with
the table they are added to; the audit columns every table has are in AUDIT_COLUMNS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mlc_core.entities import Entity

# Stamp columns change on every touch; leaving them out of the record digest means a re-touch
# without a real change costs no Kafka event and no Zoho call.
STAMP_COLUMNS = frozenset({"DateUpdated", "TimeUpdated", "UserUpdatedKey"})
AUDIT_COLUMNS = frozenset({"DateCreated", "TimeCreated", "UserCreatedKey"}) | STAMP_COLUMNS
KEY_SEPARATOR = ":"
MINUTES, HOURS = 60.0, 3600.0


class SourceKeyError(ValueError):
    """A source_key that does not fit the entity's key format."""


@dataclass(frozen=True)
class SageTable:
    """One Sage 100 table we sync, and how the agent reads it."""

    entity: Entity
    table: str
    key_columns: tuple[str, ...]
    path: str  # the agent's URL segment
    boi_object: str  # the BOI object the agent scans and fetches through
    boi_module: str  # the Sage module the BOI session is set to ("A/R")
    columns_spec: str  # "Name:N Name ..." (module docstring)
    default_cadence: float  # seconds between polls unless the tenant or deployment says otherwise
    division: bool = False  # first key column is a 2-digit division
    boi_task: str | None = None  # _bus objects need a task context (nSetProgram)
    detail_lines: bool = False  # the agent nests the detail rows under `Lines`
    primary_contact_flag: bool = False  # the agent adds PrimaryContact from AR_Customer
    # Personally sensitive columns: the agent withholds them unless the tenant's map asks.
    sensitive: frozenset[str] = frozenset()
    # Sage's renumbering utilities move these records to new keys (customers and, with them,
    # their contacts; vendors): the poller keeps an identity digest to recognise them.
    renumbers: bool = False

    @cached_property
    def columns(self) -> dict[str, int | None]:
        """Column name -> text length Sage holds (None: not length-checked), audit included."""
        named = (token.partition(":") for token in self.columns_spec.split())
        listed = {name: int(length) if length else None for name, _, length in named}
        return listed | dict.fromkeys(sorted(AUDIT_COLUMNS - set(listed)))

    @cached_property
    def text_lengths(self) -> dict[str, int]:
        return {name: n for name, n in self.columns.items() if n is not None}

    def source_key(self, values: Mapping[str, Any]) -> str:
        parts = [str(values.get(column, "")) for column in self.key_columns]
        if self.division:
            return f"{parts[0]}-{KEY_SEPARATOR.join(parts[1:])}"
        return KEY_SEPARATOR.join(parts)

    def identity_digest(self, record: Mapping[str, Any]) -> bytes:
        """record_digest without the key columns: equal for a record and its renumbered self."""
        return record_digest({k: v for k, v in record.items() if k not in self.key_columns})

    def withheld(self, record: dict[str, Any], include: frozenset[str]) -> dict[str, Any]:
        """The record without the sensitive columns that `include` does not ask for."""
        dropped = self.sensitive - include
        if not dropped or dropped.isdisjoint(record):
            return record
        return {k: v for k, v in record.items() if k not in dropped}

    def key_values(self, source_key: str) -> dict[str, str]:
        rest, parts = source_key, []
        expected = self.source_key({c: c for c in self.key_columns})
        if self.division:
            if len(source_key) < 4 or source_key[2] != "-":
                raise SourceKeyError(f"{self.entity} key {source_key!r}: expected {expected}")
            parts, rest = [source_key[:2]], source_key[3:]
        parts += rest.split(KEY_SEPARATOR)
        if len(parts) != len(self.key_columns) or not all(parts):
            raise SourceKeyError(f"{self.entity} key {source_key!r}: expected {expected}")
        return dict(zip(self.key_columns, parts, strict=True))


_ADDRESS = "AddressLine1 AddressLine2 AddressLine3 City State ZipCode CountryCode"
_MORE_SALESPEOPLE = " ".join(
    f"SalespersonDivisionNo{n} SalespersonNo{n}" for n in ("2", "3", "4", "5")
)
_DOCUMENT = (
    "ARDivisionNo CustomerNo BillToDivisionNo BillToCustomerNo BillToName BillToAddress1"
    " BillToAddress2 BillToAddress3 BillToCity BillToState BillToZipCode BillToCountryCode"
    " ShipToCode ShipToName ShipToAddress1 ShipToAddress2 ShipToAddress3 ShipToCity ShipToState"
    " ShipToZipCode ShipToCountryCode ShipVia CustomerPONo FOB WarehouseCode ConfirmTo Comment"
    " TermsCode TaxSchedule EmailAddress PaymentType TaxableAmt NonTaxableAmt SalesTaxAmt"
    " FreightAmt DiscountAmt DepositAmt Weight CRMUserID CRMCompanyID CRMPersonID"
    " CRMOpportunityID CRMProspectID SalesOrderNo Lines SalespersonDivisionNo SalespersonNo"
    f" {_MORE_SALESPEOPLE}"
)

SAGE_TABLES: dict[Entity, SageTable] = {
    table.entity: table
    for table in (
        SageTable(
            Entity.AR_CUSTOMER,
            "AR_Customer",
            ("ARDivisionNo", "CustomerNo"),
            "ar_customers",
            "AR_Customer_svc",
            "A/R",
            "ARDivisionNo:2 CustomerNo:20 CustomerName:50 AddressLine1:40 AddressLine2:40"
            " AddressLine3:40 City:30 State:2 ZipCode:10 CountryCode:3 TelephoneNo:20"
            " TelephoneExt:6 FaxNo:20 EmailAddress:250 URLAddress:50 ContactCode:10 ShipMethod"
            " TaxSchedule:9 TaxExemptNo TermsCode:2 SalespersonDivisionNo:2 SalespersonNo:4"
            f" {_MORE_SALESPEOPLE} Comment:30 SortField:10 CustomerType:4 PriceLevel:1"
            " CreditHold:1 CustomerStatus:1 InactiveReasonCode:5 OpenItemCustomer"
            " StatementCycle PrimaryShipToCode DefaultPaymentType:5 DateEstablished"
            " DateLastActivity DateLastPayment DateLastStatement DateLastAging CreditLimit"
            " CurrentBalance AgingCategory1 AgingCategory2 AgingCategory3 AgingCategory4"
            " BalanceForward OpenOrderAmt LastPaymentAmt HighestStmntBalance"
            " AvgDaysPaymentInvoice AvgDaysOverDue CustomerDiscountRate ServiceChargeRate"
            " TelephoneType",
            15 * MINUTES,
            division=True,
            renumbers=True,
        ),
        SageTable(
            Entity.CUSTOMER_CONTACT,
            "AR_CustomerContact",
            ("ARDivisionNo", "CustomerNo", "ContactCode"),
            "customer_contacts",
            "AR_CustomerContact_svc",
            "A/R",
            "ARDivisionNo:2 CustomerNo:20 ContactCode:10 ContactName:50 AddressLine1:40"
            " AddressLine2:40 AddressLine3:40 City:30 State:2 ZipCode:10 CountryCode:3"
            " Salutation:10 ContactTitle:15 TelephoneNo1:20 TelephoneExt1:6 TelephoneNo2:20"
            " TelephoneExt2:6 FaxNo:20 EmailAddress:50 ContactNotes:2048 EBMUserID"
            " TelephoneType1 TelephoneType2 PrimaryTelephone1 PrimaryTelephone2"
            " CustomerContactCode PrimaryContact:1",
            15 * MINUTES,
            division=True,
            primary_contact_flag=True,
            renumbers=True,
        ),
        SageTable(
            Entity.AP_VENDOR,
            "AP_Vendor",
            ("APDivisionNo", "VendorNo"),
            "ap_vendors",
            "AP_Vendor_svc",
            "A/P",
            "APDivisionNo:2 VendorNo:7 VendorName:30 AddressLine1:30 AddressLine2:30"
            " AddressLine3:30 City:20 State:2 ZipCode:10 CountryCode:3 PrimaryContact:10"
            " TelephoneNo:17 TelephoneExt:5 FaxNo:17 EmailAddress:250 URLAddress:50 TermsCode:2"
            " Reference:15 VendorStatus:1 InactiveReasonCode CreditCardVendor HoldPayment:1"
            " ElectronicPayment TaxSchedule TaxClass AccountKey SeparateCheck Comment:30 Sort:10"
            " VendorType Form1099 TaxpayerIDSocialSecurityNo:9 Box1099 LastPurchaseDate"
            " LastPaymentDate LastCheckNo LastCheckAmt BalanceDue AverageDaysToPay",
            1 * HOURS,
            division=True,
            sensitive=frozenset({"TaxpayerIDSocialSecurityNo"}),
            renumbers=True,
        ),
        SageTable(
            Entity.AP_OPEN_INVOICE,
            "AP_OpenInvoice",
            ("APDivisionNo", "VendorNo", "InvoiceNo", "HeaderSeqNo"),
            "ap_open_invoices",
            "AP_OpenInvoice_svc",
            "A/P",
            "APDivisionNo:2 VendorNo:7 InvoiceNo:20 HeaderSeqNo:6 InvoiceDate InvoiceDueDate"
            " InvoiceAmt Balance TermsCode PurchaseOrderNo HoldPayment Comment DiscountDate"
            " DiscountAmt",
            15 * MINUTES,
            division=True,
        ),
        SageTable(
            Entity.GL_ACCOUNT,
            "GL_Account",
            ("AccountKey",),
            "gl_accounts",
            "GL_Account_svc",
            "G/L",
            "AccountKey:9 AccountDesc:50 Account:41 RawAccount:32 MainAccountCode:15 DateStart"
            " DateEnd Status:1 ClearBalance AccountType:2 CashFlowsType RollupCode1 RollupCode2"
            " RollupCode3 RollupCode4 AccountGroup AccountCategory:1 CompanyCode:3",
            24 * HOURS,
        ),
        SageTable(
            Entity.GL_ACCOUNT_GROUP,
            "GL_AccountGroup",
            ("AccountGroup",),
            "gl_account_groups",
            "GL_AccountGroup_svc",
            "G/L",
            "AccountGroup:15 AccountGroupDesc:40 AccountCategory:1 AccountType:2 CashFlowsType:1",
            24 * HOURS,
        ),
        SageTable(
            Entity.SALES_ORDER,
            "SO_SalesOrderHeader",
            ("SalesOrderNo",),
            "sales_orders",
            "SO_SalesOrder_bus",
            "S/O",
            "ARDivisionNo CustomerNo BillToDivisionNo BillToCustomerNo BillToName:50"
            " BillToAddress1 BillToAddress2 BillToAddress3 BillToCity BillToState BillToZipCode"
            " BillToCountryCode ShipToCode:4 ShipToName ShipToAddress1 ShipToAddress2"
            " ShipToAddress3 ShipToCity ShipToState ShipToZipCode ShipToCountryCode ShipVia:15"
            " CustomerPONo:30 FOB WarehouseCode:3 ConfirmTo Comment TermsCode:2 TaxSchedule"
            " EmailAddress PaymentType TaxableAmt NonTaxableAmt SalesTaxAmt FreightAmt"
            " DiscountAmt DepositAmt Weight CRMUserID CRMCompanyID CRMPersonID CRMOpportunityID"
            " CRMProspectID SalesOrderNo:7 Lines SalespersonDivisionNo:2 SalespersonNo:4"
            f" {_MORE_SALESPEOPLE} OrderDate OrderType:1 OrderStatus:1 MasterRepeatingOrderNo"
            " ShipExpireDate CancelReasonCode LastInvoiceOrderNo LastInvoiceOrderDate"
            " CurrentInvoiceNo",
            15 * MINUTES,
            boi_task="SO_SalesOrder_ui",
            detail_lines=True,
        ),
        SageTable(
            Entity.AR_INVOICE,
            "AR_InvoiceHistoryHeader",
            ("InvoiceNo", "HeaderSeqNo"),
            "ar_invoices",
            "AR_InvoiceHistoryInquiry_svc",
            "A/R",
            f"{_DOCUMENT} InvoiceNo:20 HeaderSeqNo:6 ModuleCode InvoiceType InvoiceDate"
            " InvoiceDueDate TaxableSalesAmt NonTaxableSalesAmt Balance",
            15 * MINUTES,
        ),
        SageTable(
            Entity.AR_OPEN_INVOICE,
            "AR_OpenInvoice",
            ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType"),
            "ar_open_invoices",
            "AR_OpenInvoice_svc",
            "A/R",
            "ARDivisionNo:2 CustomerNo:20 InvoiceNo:20 InvoiceType InvoiceDate InvoiceDueDate"
            " TermsCode CustomerPONo TaxableAmt NonTaxableAmt FreightAmt SalesTaxAmt DiscountAmt"
            " Balance CRMOpportunityID",
            15 * MINUTES,
            division=True,
        ),
    )
}
SAGE_TABLES_BY_PATH = {table.path: table for table in SAGE_TABLES.values()}


def requested_sensitive(tenant_map: Mapping[str, Any] | None, entity: Entity) -> frozenset[str]:
    """The sensitive columns of `entity` a tenant's mapping file (its validated JSON form,
    docs/mapping.md) reads into an added field: the only ones the agent may send."""
    sensitive = SAGE_TABLES[entity].sensitive
    if not tenant_map or not sensitive:
        return frozenset()
    spec = (tenant_map.get("entities") or {}).get(str(entity)) or {}
    columns = {str(f.get("column")) for f in (spec.get("fields") or {}).values() if f}
    return frozenset(columns & sensitive)


def record_digest(record: Mapping[str, Any]) -> bytes:
    """sha256 of a Sage record without its update stamps (same function in agent and poller):
    equal digests mean nothing but the stamps changed."""
    body = {k: v for k, v in record.items() if k not in STAMP_COLUMNS}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()
