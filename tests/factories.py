"""Builders for test data: realistic Sage rows and events, with overridable fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from mlc_core.contracts import Entity, SageRecordChanged, ZohoUpsertCommand


def sage_customer(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ARDivisionNo": "01",
        "CustomerNo": "ABF",
        "CustomerName": "American Business Futures",
        "AddressLine1": "2131 N. 14th Street",
        "AddressLine2": "Suite 100",
        "AddressLine3": "",
        "City": "Milwaukee",
        "State": "WI",
        "ZipCode": "53205",
        "CountryCode": "USA",
        "TelephoneNo": "(414) 555-4787",
        "TelephoneExt": "",
        "FaxNo": "(414) 555-4788",
        "EmailAddress": "artie@abf.com",
        "URLAddress": "www.abf.com",
        "SalespersonDivisionNo": "01",
        "SalespersonNo": "0100",
        "TermsCode": "01",
        "CreditHold": "N",
        "CustomerStatus": "A",
        "CreditLimit": 25000.0,
        "CurrentBalance": 1234.5,
        "DateCreated": "20240105",
        "TimeCreated": "9.25000",
        "DateUpdated": "20261126",
        "TimeUpdated": "14.50278",
        "UserUpdatedKey": "0000000001",
    }
    row.update(overrides)
    return row


def raw_event(tenant: str = "acme", **record: Any) -> SageRecordChanged:
    row = sage_customer(**record)
    key = f"{row['ARDivisionNo']}-{row['CustomerNo']}"
    event_id = uuid.uuid4()
    return SageRecordChanged(
        event_id=event_id,
        tenant_id=tenant,
        correlation_id=event_id,
        entity=Entity.AR_CUSTOMER,
        source_key=key,
        company_code="ABC",
        source_version="20261126 14.502780",
        record=row,
    )


def command(
    key: str = "01-ABF", version: str = "20261126 14.502780", tenant: str = "acme", **fields: Any
) -> ZohoUpsertCommand:
    event_id = uuid.uuid4()
    return ZohoUpsertCommand(
        tenant_id=tenant,
        correlation_id=event_id,
        causation_id=uuid.uuid4(),
        entity=Entity.AR_CUSTOMER,
        source_key=key,
        module="Accounts",
        external_field="Sage_Customer_No",
        external_value=key,
        source_version=version,
        record={"Account_Name": f"Customer {key}", "Sage_Customer_No": key, **fields},
    )


@dataclass
class FakeRecord:
    """Stands in for aiokafka's ConsumerRecord in pure handler tests."""

    value: bytes | None
    key: bytes | None = None
    topic: str = "mlc.zoho.commands"
    partition: int = 0
    offset: int = 0


class ManualClock:
    """A clock a test moves by hand: `clock.now += 5`."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
