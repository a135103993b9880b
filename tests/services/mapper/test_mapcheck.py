"""Typos in a tenant's mapping file: unknown Zoho fields and Sage columns, with the line,
the field, and a suggestion; a map with one never loads."""

from __future__ import annotations

import pytest
from mapper.mapcheck import default_fields
from mapper.mapfile import MapFileError, parse_map
from mlc_core.contracts import Entity

TYPOS = """\
codes: {types: {A: B}}
entities:
  ar_customer:
    rename: {Fx: Fax_Number}
    skip: [Websit]
    fields:
      Industry: {column: UDF_INDUSTRY}
      Open_Orders: {column: OpenOrderAmnt, type: number}
      Other: {column: Zzzzz}
    codes: {account_type: types}
    defaults: {Acount_Type: Prospect, Rating: Warm}
  sales_order:
    skip: [Carier]
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(MapFileError) as caught:
        parse_map(text)
    return caught.value.problems


def test_each_typo_names_its_line_and_field_with_a_suggestion() -> None:
    assert _problems(TYPOS) == [
        "line 4: entities.ar_customer.rename.Fx: unknown Zoho field 'Fx': ar_customer does not"
        " map it; did you mean 'Fax'?",
        "line 5: entities.ar_customer.skip.0: unknown Zoho field 'Websit': ar_customer does not"
        " map it; did you mean 'Website'?",
        "line 8: entities.ar_customer.fields.Open_Orders.column: unknown Sage column"
        " 'OpenOrderAmnt' for ar_customer; did you mean 'OpenOrderAmt'? (UDF_* columns are"
        " always allowed)",
        "line 9: entities.ar_customer.fields.Other.column: unknown Sage column 'Zzzzz' for"
        " ar_customer (UDF_* columns are always allowed)",
        "line 10: entities.ar_customer.codes.account_type: unknown Zoho field 'account_type':"
        " ar_customer does not map it; did you mean 'Account_Type'?",
        "line 11: entities.ar_customer.defaults.Acount_Type: unknown Zoho field 'Acount_Type';"
        " did you mean 'Account_Type'?",
        "line 13: entities.sales_order.skip.0: unknown Zoho field 'Carier': sales_order does"
        " not map it; did you mean 'Carrier'?",
    ]


def test_names_that_exist_after_rename_or_as_added_fields_are_not_typos() -> None:
    tenant_map = parse_map("""\
codes: {types: {A: B}}
entities:
  ar_customer:
    rename: {Fax: Fax_Number}
    skip: [Fax_Number, Industry]
    fields: {Industry: {column: UDF_INDUSTRY}, Terms: {column: TermsCode}}
    codes: {Terms: types}
    defaults: {Rating: Warm, Region: Midwest}
  customer_contact:
    fields: {Mobile: {column: TelephoneNo2}, Primary: {column: PrimaryContact, type: flag}}
  gl_account:
    rename: {Description: Notes}
""")
    assert set(tenant_map.entities) == {
        Entity.AR_CUSTOMER,
        Entity.CUSTOMER_CONTACT,
        Entity.GL_ACCOUNT,
    }


def test_a_field_renamed_away_is_unknown_under_its_old_name() -> None:
    problems = _problems(
        "entities:\n  ar_customer:\n    rename: {Fax: Fax_Number}\n    skip: [Fax]\n"
    )
    assert problems == [
        "line 4: entities.ar_customer.skip.0: 'Fax' is renamed to 'Fax_Number'; use the new"
        " name here"
    ]


def test_every_entity_has_default_fields_to_check_against() -> None:
    for entity in Entity:
        assert len(default_fields(entity)) >= 3, entity
    assert {"Ordered_Items", "Grand_Total", "Carrier"} <= default_fields(Entity.SALES_ORDER)
    assert "Name" in default_fields(Entity.AR_INVOICE)  # the Sage_Invoices variant
