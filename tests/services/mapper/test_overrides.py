"""Per-tenant mapping files: validated with line and field, applied by the mapper."""

from __future__ import annotations

from pathlib import Path

import pytest
from mapper.mapfile import MapFileError, parse_map
from mapper.service import map_event, to_command, to_commands
from mlc_core.contracts import DeadLetter, Entity, Topics, ZohoDeleteCommand

from tests.factories import raw_event
from tests.services.mapper import rows
from tests.services.mapper.rows import event

GOOD = """\
version: 1
settings:
  deletes: delete
  deal_id_column: UDF_ZOHO_DEAL
codes:
  customer_types: {RET: Retail, WHL: Wholesale}
  industries: {MFG: Manufacturing}
entities:
  ar_customer:
    rename: {Fax: Fax_Number}
    skip: [Website, Shipping_Street]
    fields:
      Industry: {column: UDF_INDUSTRY, codes: industries}
      Region: {value: Midwest}
      Sage_Open_Orders: {column: OpenOrderAmt, type: number}
    codes: {Account_Type: customer_types}
    defaults: {Account_Type: Prospect, Rating: Warm}
"""


def test_a_map_renames_skips_adds_translates_and_defaults() -> None:
    tenant_map = parse_map(GOOD)
    record = raw_event(CustomerType="RET", UDF_INDUSTRY="MFG", OpenOrderAmt="12.5").record
    cmd = to_command(raw_event(**record), tenant_map)
    assert cmd.record["Fax_Number"] == "(414) 555-4788" and "Fax" not in cmd.record
    assert "Website" not in cmd.record and "Shipping_Street" not in cmd.record
    assert cmd.record["Industry"] == "Manufacturing" and cmd.record["Region"] == "Midwest"
    assert cmd.record["Sage_Open_Orders"] == 12.5
    assert cmd.record["Account_Type"] == "Retail" and cmd.record["Rating"] == "Warm"
    untranslated = to_command(raw_event(CustomerType="ZZZ", UDF_INDUSTRY="OIL"), tenant_map)
    assert untranslated.record["Account_Type"] == "ZZZ" and untranslated.record["Industry"] == "OIL"
    no_type = to_command(raw_event(CustomerType=""), tenant_map)
    assert no_type.record["Account_Type"] == "Prospect"
    assert to_command(raw_event()).record["Fax"] == "(414) 555-4788"  # default map unchanged


def test_map_settings_choose_deletes_and_the_deal_column() -> None:
    tenant_map = parse_map(GOOD)
    [(_, cmd)] = map_event(rows.deleted(Entity.CUSTOMER_CONTACT), tenant_map)
    assert isinstance(cmd, ZohoDeleteCommand) and cmd.mode == "delete" and cmd.deactivate == {}
    record = rows.order_row(CRMOpportunityID="", UDF_ZOHO_DEAL="5725767000000000001")
    order = to_commands(event(Entity.SALES_ORDER, record), tenant_map)[-1]
    [deal] = [lk for lk in order.lookups if lk.module == "Deals"]
    assert (deal.path, deal.external_value) == ("Deal_Name", "5725767000000000001")


def test_added_field_too_long_for_zoho_names_its_udf_column() -> None:
    tenant_map = parse_map(GOOD)
    [(topic, out)] = map_event(raw_event(UDF_INDUSTRY="x" * 300), tenant_map)
    assert topic == Topics.DEAD_LETTERS and isinstance(out, DeadLetter)
    assert out.field == "UDF_INDUSTRY" and "allows 255" in out.error_message


def test_invoices_to_custom_module_and_switched_off_entities() -> None:
    tenant_map = parse_map("settings:\n  invoice_module: Sage_Invoices\n  disabled: [ap_vendor]\n")
    [cmd, deal] = to_commands(event(Entity.AR_INVOICE, rows.invoice_row()), tenant_map)
    assert cmd.module == "Sage_Invoices" and cmd.record["Name"] == "Invoice 0100234"
    assert deal.module == "Deals" and cmd.lookups[-1].path == "Deal"
    assert "Invoiced_Items" not in cmd.record and cmd.lookups[0].path == "Account"
    assert map_event(event(Entity.AP_VENDOR, rows.vendor_row()), tenant_map) == []
    [(_, deletion)] = map_event(rows.deleted(Entity.AR_INVOICE), tenant_map)
    assert isinstance(deletion, ZohoDeleteCommand) and deletion.module == "Sage_Invoices"


def test_open_invoices_follow_the_custom_invoice_module_too() -> None:
    tenant_map = parse_map("settings:\n  invoice_module: Sage_Invoices\n")
    [cmd] = to_commands(event(Entity.AR_OPEN_INVOICE, rows.open_invoice_row()), tenant_map)
    assert (cmd.module, cmd.external_field) == ("Sage_Invoices", "Sage_Open_Invoice_Key")
    assert cmd.record["Sage_Balance"] == 61.0 and "Invoiced_Items" not in cmd.record
    [history, _deal] = to_commands(event(Entity.AR_INVOICE, rows.invoice_row()), tenant_map)
    assert history.also_match == ["Sage_Open_Invoice_Key"]
    assert history.record["Sage_Open_Invoice_Key"] == cmd.external_value
    [(_, purged)] = map_event(rows.deleted(Entity.AR_OPEN_INVOICE), tenant_map)
    assert isinstance(purged, ZohoDeleteCommand) and purged.module == "Sage_Invoices"
    assert purged.external_field == "Sage_Open_Invoice_Key"


def _problems(text: str) -> list[str]:
    with pytest.raises(MapFileError) as caught:
        parse_map(text)
    return caught.value.problems


def test_errors_name_the_line_and_the_field() -> None:
    text = """\
version: 1
settings:
  deletes: purge
entities:
  ar_customer:
    skip: [Account_Name]
    rename: {Fax: Fax__2}
    fields:
      Region: {value: Midwest, column: UDF_REGION}
  sales_orderz: {}
"""
    problems = _problems(text)
    assert problems[0].startswith("line 3: settings.deletes:")
    assert any(p.startswith("line 7: entities.ar_customer.rename.Fax") for p in problems)
    assert any("Fax__2" in p and "not a Zoho API name" in p for p in problems)
    assert any(
        p.startswith("line 9: entities.ar_customer.fields.Region:") and "exactly one" in p
        for p in problems
    )
    assert any(p.startswith("line 10: entities.sales_orderz") for p in problems)


def test_cross_checks_name_the_line_too() -> None:
    text = """\
codes:
  types: {A: B}
entities:
  ar_customer:
    skip:
      - Website
      - Account_Name
    codes: {Account_Type: typez}
"""
    assert _problems(text) == [
        "line 7: entities.ar_customer.skip.1: Account_Name is a key or mandatory field; keep it",
        "line 8: entities.ar_customer.codes.Account_Type: no code table 'typez' under 'codes'",
    ]


def test_broken_yaml_and_wrong_shapes() -> None:
    assert _problems("entities: {ar_customer: [")[0].startswith("line 1: not valid YAML")
    assert _problems("- a\n- b\n") == ["line 1: (top level): expected a mapping of settings"]
    assert parse_map("") == parse_map("version: 1\n")
    unknown = _problems("version: 1\ncolour: blue\n")
    assert unknown[0].startswith("line 2: colour:")


def test_the_documented_example_is_a_valid_map() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "mapping.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    tenant_map = parse_map(example)
    assert tenant_map.settings.deal_id_column == "UDF_ZOHO_DEAL"
    assert Entity.AR_CUSTOMER in tenant_map.entities
