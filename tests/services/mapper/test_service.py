from __future__ import annotations

from mapper.service import map_event, to_command
from mlc_core.contracts import DeadLetter, Topics, ZohoUpsertCommand

from tests.factories import raw_event


def test_customer_maps_to_account_fields() -> None:
    cmd = to_command(raw_event(TelephoneExt="12"))
    assert cmd.module == "Accounts"
    assert cmd.external_field == "Sage_Customer_No" and cmd.external_value == "01-ABF"
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
        "Sage_Customer_No": "01-ABF",
    }


def test_command_is_caused_by_the_raw_event() -> None:
    raw = raw_event()
    cmd = to_command(raw)
    assert cmd.causation_id == raw.event_id and cmd.correlation_id == raw.correlation_id
    assert cmd.source_version == raw.source_version
    assert to_command(raw).event_id == cmd.event_id  # redelivery -> same command


def test_blank_fields_are_left_out() -> None:
    cmd = to_command(raw_event(FaxNo="  ", URLAddress=None))
    assert "Fax" not in cmd.record and "Website" not in cmd.record


def test_missing_name_is_a_dead_letter_naming_tenant_entity_key_field() -> None:
    topic, out = map_event(raw_event(tenant="globex", CustomerName="   "))
    assert topic == Topics.DEAD_LETTERS and isinstance(out, DeadLetter)
    assert out.field == "CustomerName" and out.stage == "mapper"
    for part in ("globex", "ar_customer", "01-ABF", "CustomerName"):
        assert part in out.error_message
    assert out.original["record"]["CustomerNo"] == "ABF"


def test_wrong_type_is_a_dead_letter() -> None:
    topic, out = map_event(raw_event(City=12))
    assert topic == Topics.DEAD_LETTERS and isinstance(out, DeadLetter) and out.field == "City"


def test_good_record_goes_to_commands() -> None:
    topic, out = map_event(raw_event())
    assert topic == Topics.ZOHO_COMMANDS and isinstance(out, ZohoUpsertCommand)
