from __future__ import annotations

from mapper.mapfile import parse_map
from mapper.service import map_event, to_command
from mlc_core.contracts import DeadLetter, Entity, Topics, ZohoUpsertCommand, encode

from tests.factories import raw_event


def test_customer_maps_to_account_fields() -> None:
    cmd = to_command(raw_event(TelephoneExt="12", ContactCode="ARTIE"))
    assert cmd.module == "Accounts"
    assert cmd.external_field == "Sage_Customer_No" and cmd.external_value == "01-ABF"
    [primary] = cmd.lookups  # the customer's default contact (ContactCode), if it exists
    assert (primary.path, primary.module, primary.external_value, primary.required) == (
        "Sage_Primary_Contact",
        "Contacts",
        "01-ABF:ARTIE",
        False,
    )
    assert cmd.record == {
        "Account_Name": "American Business Futures",
        "Account_Number": "01-ABF",
        "Phone": "(414) 555-4787 x12",
        "Fax": "(414) 555-4788",
        "Website": "www.abf.com",
        "Billing_Street": "2131 N. 14th Street, Suite 100",
        "Billing_City": "Milwaukee",
        "Billing_State": "WI",
        "Billing_Code": "53205",
        "Billing_Country": "USA",
        "Shipping_Street": "2131 N. 14th Street, Suite 100",
        "Shipping_City": "Milwaukee",
        "Shipping_State": "WI",
        "Shipping_Code": "53205",
        "Shipping_Country": "USA",
        "Sage_Customer_No": "01-ABF",
        "Sage_Salesperson": "01-0100",
        "Sage_Terms_Code": "01",
        "Sage_Credit_Hold": False,
        "Sage_Credit_Limit": 25000.0,
        "Sage_Current_Balance": 1234.5,
        "Sage_Status": "Active",
    }


def test_credit_status_aging_and_last_payment() -> None:
    cmd = to_command(
        raw_event(
            CreditHold="Y",
            AgingCategory1=100,
            AgingCategory2="50.255",
            AgingCategory3=0,
            AgingCategory4=12.5,
            DateLastPayment="20261015",
            LastPaymentAmt=99.99,
            CustomerType="RET",
        )
    )
    record = cmd.record
    assert record["Sage_Credit_Hold"] is True
    aging = [record[f"Sage_Aging_{i}"] for i in range(1, 5)]
    assert aging == [100.0, 50.26, 0.0, 12.5]
    assert record["Sage_Last_Payment_Date"] == "2026-10-15"
    assert record["Sage_Last_Payment_Amount"] == 99.99
    assert record["Account_Type"] == "RET"


def test_inactive_customer_is_marked_not_deleted() -> None:
    produced = map_event(raw_event(CustomerStatus="I", InactiveReasonCode="BANKR"))
    [(topic, cmd)] = produced
    assert topic == Topics.ZOHO_COMMANDS and isinstance(cmd, ZohoUpsertCommand)
    assert cmd.record["Sage_Status"] == "Inactive"
    assert cmd.record["Sage_Inactive_Reason"] == "BANKR"


def test_country_codes_are_normalised_to_iso_alpha3() -> None:
    for given, expected in (("US", "USA"), ("usa", "USA"), ("UK", "GBR"), ("Canada", "CAN")):
        assert to_command(raw_event(CountryCode=given)).record["Billing_Country"] == expected


def test_command_is_caused_by_the_raw_event() -> None:
    raw = raw_event()
    cmd = to_command(raw)
    assert cmd.causation_id == raw.event_id and cmd.correlation_id == raw.correlation_id
    assert cmd.source_version == raw.source_version and cmd.entity is Entity.AR_CUSTOMER
    assert to_command(raw).event_id == cmd.event_id  # redelivery -> same command


def test_blank_columns_are_sent_as_null_so_zoho_clears_them() -> None:
    """A value cleared in Sage (blank or null column) is cleared in Zoho: Zoho keeps a field
    it is not sent, so the field goes as null."""
    cmd = to_command(raw_event(FaxNo="  ", URLAddress=None, TelephoneNo="", TelephoneExt=""))
    assert cmd.record["Fax"] is None and cmd.record["Website"] is None
    assert cmd.record["Phone"] is None
    assert b'"Fax":null' in encode(cmd)  # in the command's bytes: the writer hashes those


def test_a_column_the_row_does_not_hold_is_left_out() -> None:
    """Only a column Sage sent blank clears: a column the row lacks (another table, an older
    agent) says nothing about the value, so Zoho keeps it."""
    event = raw_event()
    del event.record["FaxNo"]
    cmd = to_command(event)
    assert "Fax" not in cmd.record


def test_clearing_changes_the_command_so_the_writer_writes_it() -> None:
    before = to_command(raw_event(FaxNo="555-1"))
    after = to_command(raw_event(FaxNo=""))
    assert before.record["Fax"] == "555-1" and after.record["Fax"] is None
    assert before.record != after.record


def test_blank_added_udf_is_sent_as_null() -> None:
    tenant_map = parse_map(
        "entities:\n  ar_customer:\n    fields: {Region: {column: UDF_REGION}}\n"
    )
    filled = to_command(raw_event(UDF_REGION="Midwest"), tenant_map)
    cleared = to_command(raw_event(UDF_REGION=" "), tenant_map)
    assert filled.record["Region"] == "Midwest" and cleared.record["Region"] is None


def _letter(**record: object) -> DeadLetter:
    [(topic, out)] = map_event(raw_event(tenant="globex", **record))
    assert topic == Topics.DEAD_LETTERS and isinstance(out, DeadLetter)
    return out


def test_missing_name_is_a_dead_letter_naming_tenant_entity_key_field() -> None:
    out = _letter(CustomerName="   ")
    assert out.field == "CustomerName" and out.stage == "mapper"
    for part in ("globex", "ar_customer", "01-ABF", "CustomerName"):
        assert part in out.error_message
    assert out.original["record"]["CustomerNo"] == "ABF"
    assert out.original_topic == Topics.SAGE_CHANGES  # replayable as it was


def test_each_kind_of_bad_value_names_its_column_and_reason() -> None:
    cases = {
        "City": (12, "expected text"),
        "CustomerName": ("N" * 201, "allows 200"),
        "CountryCode": ("XX", "unknown country"),
        "AddressLine1": ("Stra\ufffde 5", "broken encoding"),
        "CreditLimit": ("lots", "expected a number"),
        "DateLastPayment": ("20261399", "not a calendar date"),
        "CreditHold": ("maybe", "expected Y or N"),
        "CustomerStatus": ("X", "unknown code"),
    }
    for column, (value, reason) in cases.items():
        out = _letter(**{column: value})
        assert out.field == column, column
        assert reason in out.error_message, (column, out.error_message)
        assert "globex, ar_customer 01-ABF" in out.error_message


def test_good_record_goes_to_commands() -> None:
    [(topic, out)] = map_event(raw_event())
    assert topic == Topics.ZOHO_COMMANDS and isinstance(out, ZohoUpsertCommand)
