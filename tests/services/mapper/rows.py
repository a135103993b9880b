"""Sage rows of every entity (columns per sage100.md §3 and docs/sage-entities.md), as events."""

from __future__ import annotations

import uuid
from typing import Any

from mlc_core.contracts import Entity, SageRecordChanged, SageRecordDeleted
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig
from pydantic import SecretStr


def contact_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ARDivisionNo": "01",
        "CustomerNo": "ABF",
        "ContactCode": "ARTIE",
        "ContactName": "Artie Johnson",
        "Salutation": "Mr.",
        "ContactTitle": "Purchasing",
        "TelephoneNo1": "(414) 555-4787",
        "TelephoneExt1": "210",
        "TelephoneNo2": "(414) 555-0000",
        "TelephoneExt2": "",
        "FaxNo": "",
        "EmailAddress": "artie@abf.com",
        "AddressLine1": "2131 N. 14th Street",
        "City": "Milwaukee",
        "State": "WI",
        "ZipCode": "53205",
        "CountryCode": "USA",
        "ContactNotes": "",
    }
    return row | overrides


def vendor_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "APDivisionNo": "01",
        "VendorNo": "0000100",
        "VendorName": "Acme Supplies",
        "AddressLine1": "1 Industrial Way",
        "City": "Chicago",
        "State": "IL",
        "ZipCode": "60601",
        "CountryCode": "USA",
        "TelephoneNo": "(312) 555-1000",
        "TelephoneExt": "",
        "EmailAddress": "sales@acme.test",
        "URLAddress": "www.acme.test",
        "TermsCode": "30",
        "VendorStatus": "A",
        "BalanceDue": 1200.5,
        "LastPaymentDate": "20261015",
    }
    return row | overrides


def order_line(
    item: str = "1001-HON", qty: float = 2, price: float = 10.0, **o: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "LineKey": "000001",
        "ItemCode": item,
        "ItemType": "1",
        "ItemCodeDesc": f"Item {item}",
        "QuantityOrdered": qty,
        "UnitPrice": price,
        "ExtensionAmt": round(qty * price, 2),
    }
    return row | o


def order_row(lines: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "SalesOrderNo": "0000123",
        "OrderDate": "20261120",
        "OrderType": "S",
        "OrderStatus": "O",
        "ARDivisionNo": "01",
        "CustomerNo": "ABF",
        "BillToName": "American Business Futures",
        "BillToAddress1": "2131 N. 14th Street",
        "BillToCity": "Milwaukee",
        "BillToState": "WI",
        "BillToZipCode": "53205",
        "BillToCountryCode": "USA",
        "ShipVia": "UPS GROUND",
        "CustomerPONo": "PO-77",
        "TaxableAmt": 40.0,
        "NonTaxableAmt": 10.0,
        "SalesTaxAmt": 2.5,
        "FreightAmt": 7.0,
        "DiscountAmt": 5.0,
        "CRMOpportunityID": "",
        "Lines": lines if lines is not None else [order_line(), order_line("2002-BLU", 3, 10.0)],
    }
    return row | overrides


def invoice_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "InvoiceNo": "0100234",
        "HeaderSeqNo": "000000",
        "InvoiceType": "IN",
        "InvoiceDate": "20261101",
        "InvoiceDueDate": "20261201",
        "ARDivisionNo": "01",
        "CustomerNo": "ABF",
        "SalesOrderNo": "0000123",
        "CustomerPONo": "PO-77",
        "TaxableSalesAmt": 100.0,
        "NonTaxableSalesAmt": 0.0,
        "FreightAmt": 5.0,
        "SalesTaxAmt": 6.0,
        "Balance": 111.0,
        "CRMOpportunityID": "5725767000000524157",
    }
    return row | overrides


def open_invoice_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ARDivisionNo": "01",
        "CustomerNo": "ABF",
        "InvoiceNo": "0100234",
        "InvoiceType": "IN",
        "InvoiceDate": "20261101",
        "InvoiceDueDate": "20261201",
        "TermsCode": "01",
        "CustomerPONo": "PO-77",
        "TaxableAmt": 100.0,
        "NonTaxableAmt": 0.0,
        "FreightAmt": 5.0,
        "SalesTaxAmt": 6.0,
        "DiscountAmt": 0.0,
        "Balance": 61.0,
    }
    return row | overrides


def ap_invoice_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "APDivisionNo": "01",
        "VendorNo": "0000100",
        "InvoiceNo": "INV-9",
        "HeaderSeqNo": "000000",
        "InvoiceDate": "20261101",
        "InvoiceDueDate": "20261130",
        "InvoiceAmt": 500.0,
        "Balance": 250.0,
    }
    return row | overrides


def gl_account_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "AccountKey": "000000010",
        "Account": "400-00-00",
        "AccountDesc": "Sales - Furniture",
        "MainAccountCode": "400",
        "Status": "A",
        "AccountType": "11",
        "AccountGroup": "SALES",
        "AccountCategory": "R",
    }
    return row | overrides


def gl_group_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "AccountGroup": "SALES",
        "AccountGroupDesc": "Sales revenue",
        "AccountCategory": "R",
        "AccountType": "11",
        "CashFlowsType": "O",
    }
    return row | overrides


KEYS = {
    Entity.AR_CUSTOMER: "01-ABF",
    Entity.CUSTOMER_CONTACT: "01-ABF:ARTIE",
    Entity.AP_VENDOR: "01-0000100",
    Entity.AP_OPEN_INVOICE: "01-0000100:INV-9:000000",
    Entity.GL_ACCOUNT: "000000010",
    Entity.GL_ACCOUNT_GROUP: "SALES",
    Entity.SALES_ORDER: "0000123",
    Entity.AR_INVOICE: "0100234:000000",
    Entity.AR_OPEN_INVOICE: "01-ABF:0100234:IN",
}


def event(
    entity: Entity, record: dict[str, Any], *, tenant: str = "acme", key: str | None = None
) -> SageRecordChanged:
    event_id = uuid.uuid4()
    return SageRecordChanged(
        event_id=event_id,
        tenant_id=tenant,
        correlation_id=event_id,
        entity=entity,
        source_key=key or KEYS[entity],
        company_code="ABC",
        source_version="20261126 14.502780",
        record=record,
    )


def deleted(entity: Entity, *, tenant: str = "acme", key: str | None = None) -> SageRecordDeleted:
    event_id = uuid.uuid4()
    return SageRecordDeleted(
        event_id=event_id,
        tenant_id=tenant,
        correlation_id=event_id,
        entity=entity,
        source_key=key or KEYS[entity],
        company_code="ABC",
        last_version="20261126 14.502780",
    )


def tenant(tenant_id: str) -> Tenant:
    """A valid tenant row (every service reads all tenants, so test rows must be valid)."""
    return Tenant(
        tenant_id=tenant_id,
        display_name=tenant_id,
        enabled=False,  # nothing to poll: only its mapping file is used
        config=TenantConfig(
            sage=SageConfig(company_code="ABC", agent_url="https://agent.invalid"),
            zoho=ZohoConfig(accounts_url="https://accounts.zoho.com", client_id="1000.X"),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr("t"),
            zoho_client_secret=SecretStr("s"),
            zoho_refresh_token=SecretStr("r"),
        ),
    )
