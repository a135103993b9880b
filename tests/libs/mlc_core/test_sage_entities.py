from __future__ import annotations

import pytest
from mlc_core.contracts import Entity, SagePollAttempt, SageRecordDeleted, Topics, decode, encode
from mlc_core.entities.sage import AUDIT_COLUMNS, SAGE_TABLES, SourceKeyError, record_digest

EXAMPLES = {
    Entity.AR_CUSTOMER: "01-ABF",
    Entity.CUSTOMER_CONTACT: "01-ABF:JSMITH",
    Entity.AP_VENDOR: "01-0000010",
    Entity.AP_OPEN_INVOICE: "01-0000010:V123450:000000",
    Entity.GL_ACCOUNT: "000000010",
    Entity.GL_ACCOUNT_GROUP: "CASH",
    Entity.SALES_ORDER: "0000123",
    Entity.AR_INVOICE: "0100234:000000",
    Entity.AR_OPEN_INVOICE: "01-0000100:0100234:IN",
}


@pytest.mark.parametrize(("entity", "key"), EXAMPLES.items())
def test_source_key_round_trips(entity: Entity, key: str) -> None:
    spec = SAGE_TABLES[entity]
    values = spec.key_values(key)
    assert list(values) == list(spec.key_columns)
    assert spec.source_key(values) == key


def test_customer_number_with_dash_parses_by_division_width() -> None:
    assert SAGE_TABLES[Entity.AR_CUSTOMER].key_values("01-AB-7") == {
        "ARDivisionNo": "01",
        "CustomerNo": "AB-7",
    }


@pytest.mark.parametrize(
    ("entity", "key"),
    [(Entity.AR_CUSTOMER, "ABF"), (Entity.CUSTOMER_CONTACT, "01-ABF"), (Entity.AR_INVOICE, "1:")],
)
def test_bad_keys_say_what_is_expected(entity: Entity, key: str) -> None:
    with pytest.raises(SourceKeyError) as info:
        SAGE_TABLES[entity].key_values(key)
    assert key in str(info.value) and SAGE_TABLES[entity].key_columns[-1] in str(info.value)


def test_columns_carry_text_lengths_and_every_table_has_the_audit_columns() -> None:
    customers = SAGE_TABLES[Entity.AR_CUSTOMER]
    assert customers.columns["CustomerName"] == 50 and customers.columns["CreditLimit"] is None
    assert customers.text_lengths["EmailAddress"] == 250
    assert "CreditLimit" not in customers.text_lengths
    assert list(customers.columns)[:2] == ["ARDivisionNo", "CustomerNo"]  # in the order listed
    for table in SAGE_TABLES.values():
        assert set(table.columns) >= AUDIT_COLUMNS, table.entity
        assert set(table.key_columns) <= set(table.columns), table.entity


def test_record_digest_ignores_update_stamps_only() -> None:
    row = {"CustomerNo": "A", "DateUpdated": "20260101", "TimeUpdated": "1.0", "City": "X"}
    touched = row | {"DateUpdated": "20260102", "TimeUpdated": "2.5", "UserUpdatedKey": "2"}
    assert record_digest(row) == record_digest(touched)
    assert record_digest(row) != record_digest(row | {"City": "Y"})


def test_delete_and_poll_attempt_events_round_trip() -> None:
    deleted = SageRecordDeleted(
        tenant_id="acme",
        correlation_id="00000000-0000-0000-0000-000000000001",  # type: ignore[arg-type]
        entity=Entity.AP_VENDOR,
        source_key="01-0000010",
        company_code="ABC",
        last_version="20261126 14.502780",
    )
    attempt = SagePollAttempt(
        tenant_id="acme",
        correlation_id=deleted.event_id,
        entity=Entity.GL_ACCOUNT,
        attempt=2,
        outcome="recovered",
        operation="changes",
    )
    assert decode(encode(deleted)) == deleted and decode(encode(attempt)) == attempt
    assert deleted.kafka_key == b"acme|ap_vendor|01-0000010"
    assert Topics.SAGE_POLL_ATTEMPTS.value == "mlc.sage.poll_attempts"
