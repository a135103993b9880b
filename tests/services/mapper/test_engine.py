"""The mapping engine (mapper.engine) against an independent reference over generated rows.

The reference is the generic path the engine replaced: each record built whole, the tenant's
map applied to it (`apply`), then Zoho's limits checked field by field (`check_record`); for
documents and reference data it is the code as it was (tests/services/mapper/generic_path.py).
The engine must give the same records, links and keys for every row, and fail exactly when
the reference fails. One intended difference: a field the tenant skips is not read at all.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapper import values as v
from mapper.drafts import Draft
from mapper.engine import compile_mapping
from mapper.fields import NOTHING_PREPARED, Field, RecordMapping
from mapper.mapfile import parse_map
from mapper.masters import MASTER_DATA
from mapper.profile import DEFAULT_MAP, TenantMap
from mapper.service import compiled_mapping, map_event
from mapper.values import MappingError
from mlc_core.contracts import DeadLetter, Entity, ZohoUpsertCommand

from tests.factories import raw_event, sage_customer
from tests.services.mapper import generic_path, rows
from tests.services.mapper.rows import event
from tests.services.mapper.test_properties import BASE_ROWS, anything, entity_rows, mutated

OVERRIDES = parse_map("""\
codes:
  types: {RET: Retail, "1": One}
  names: {Active: Live}
entities:
  ar_customer:
    rename: {Fax: Fax_Number, Billing_City: Town}
    fields:
      Industry: {column: UDF_INDUSTRY, codes: types}
      Open_Orders: {column: CreditLimit, type: number}
      Phone_Text: {column: CreditLimit}
      Region: {value: Midwest}
    codes: {Account_Type: types, Sage_Status: names, Open_Orders: types}
    defaults: {Account_Type: Prospect, Rating: Warm, Town: Nowhere}
  customer_contact:
    rename: {Title: Department, Fax: Mobile}
    codes: {Department: types}
    defaults: {Salutation: Dear}
  ap_vendor:
    fields: {Website: {column: UDF_SITE}}
""")
# Documents and reference data: every rule but skip (the reference reads a skipped column).
DOCUMENT_OVERRIDES = parse_map("""\
settings:
  deal_id_column: UDF_ZOHO_DEAL
codes:
  status: {Open: Active, Closed: Done}
  types: {IN: Invoice, "01 Cash": Cash}
entities:
  sales_order:
    rename: {Carrier: Shipper}
    codes: {Status: status}
    defaults: {Shipper: UPS, Rating: Warm}
    fields:
      Sage_Industry: {column: UDF_INDUSTRY}
      Purchase_Order: {column: UDF_PO}
  ar_invoice:
    codes: {Sage_Invoice_Type: types}
    defaults: {Purchase_Order: none}
  ar_open_invoice:
    fields: {Region: {value: Midwest}}
  gl_account:
    codes: {Account_Type: types}
    defaults: {Main_Account: "0000"}
""")
CUSTOM_INVOICES = parse_map("settings:\n  invoice_module: Sage_Invoices\n")
BASE = {
    Entity.AR_CUSTOMER: sage_customer(UDF_INDUSTRY="RET", CustomerType="1", ContactCode="ARTIE"),
    Entity.CUSTOMER_CONTACT: rows.contact_row(PrimaryContact="Y", FaxNo="555-1"),
    Entity.AP_VENDOR: rows.vendor_row(UDF_SITE="www.acme.com"),
}
DOCUMENTS = sorted(set(BASE_ROWS) - set(MASTER_DATA))


def generic(entity: Entity, tenant_map: TenantMap, row: Any, key: str) -> Any:
    """The reference's drafts, or the error it raises."""
    try:
        if entity in MASTER_DATA:
            return [_generic_master(MASTER_DATA[entity], entity, tenant_map, row, key)]
        return generic_path.drafts_for(entity, tenant_map, row, key)
    except Exception as error:
        return error


def _generic_master(
    mapping: RecordMapping, entity: Entity, tenant_map: TenantMap, row: Any, key: str
) -> Draft:
    record = {f.name: _value(f, row, key) for f in mapping.fields}
    sources = {f.name: f.source for f in mapping.fields if f.source is not None}
    links = mapping.links(row, key, NOTHING_PREPARED)
    draft = Draft(mapping.module, key, v.compact(record), sources, links)
    generic_path.apply(tenant_map, entity, draft, row)
    generic_path.check_record(draft.module, draft.record, draft.sources)
    return draft


def _value(field: Field, row: Any, key: str) -> Any:
    if field.key:
        return key
    if field.column is not None:
        if field.amount:
            return v.money(row, field.column)
        if field.required:
            return v.required_text(row, field.column, field.name)
        return v.text(row, field.column)
    assert field.read is not None
    return field.read(row)


def engine(entity: Entity, tenant_map: TenantMap, row: Any, key: str) -> Any:
    try:
        return compiled_mapping(entity, tenant_map).drafts(row, key)
    except Exception as error:
        return error


def shape(drafts: list[Draft], *, ordered: bool) -> list[tuple[Any, ...]]:
    """What a command is made of, per draft; the record's field order only if `ordered`.
    The fields the engine sends as null (cleared in Sage) are tested on their own
    (test_blank_columns_are_sent_as_null): the reference left every empty field out."""
    shapes = []
    for d in drafts:
        record = {name: value for name, value in d.record.items() if value is not None}
        fields = list(record.items()) if ordered else record
        shapes.append((d.module, d.external_value, d.external_field, d.also_match, d.lookups))
        shapes[-1] += (fields, d.warnings)
    return shapes


def assert_same(entity: Entity, tenant_map: TenantMap, row: Any, key: str) -> None:
    expected, got = generic(entity, tenant_map, row, key), engine(entity, tenant_map, row, key)
    if isinstance(expected, Exception):
        assert isinstance(got, Exception), (expected, got)
        assert type(got) is type(expected) or isinstance(got, MappingError), (expected, got)
        return
    assert not isinstance(got, Exception), (expected, got)
    # The engine keeps a renamed, defaulted or added field in its field's place; the reference
    # appended it when it applied the map (Zoho reads fields by name, the order is not sent).
    ordered = entity not in tenant_map.entities
    assert shape(got, ordered=ordered) == shape(expected, ordered=ordered)


KEYS = st.sampled_from(["01-ABF", "01-" + "K" * 45, "0100234"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entity=st.sampled_from(sorted(BASE)),
    tenant_map=st.sampled_from([DEFAULT_MAP, OVERRIDES]),
    data=st.data(),
)
def test_master_data_maps_every_row_as_the_reference(
    entity: Entity, tenant_map: TenantMap, data: Any
) -> None:
    assert_same(entity, tenant_map, data.draw(mutated(BASE[entity])), data.draw(KEYS))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entity=st.sampled_from(DOCUMENTS),
    tenant_map=st.sampled_from([DEFAULT_MAP, DOCUMENT_OVERRIDES, CUSTOM_INVOICES]),
    data=st.data(),
)
def test_documents_and_reference_data_map_every_row_as_the_reference(
    entity: Entity, tenant_map: TenantMap, data: Any
) -> None:
    row = data.draw(entity_rows(entity))
    assert_same(entity, tenant_map, row, data.draw(KEYS))


AWKWARD_VALUES = [
    None,
    "",
    "   ",
    " padded ",
    "x" * 201,
    "ÄÖÜ 北京 😀",
    "tab\there",
    "nul\x00",
    "\ufffd",
    "\ud800",
    "(414) 555-4787",
    "not a phone",
    "www.abf.com",
    "artie@abf.com",
    "20261126",
    12.5,
    -0.0,
    10**30,
    10**400,
    float("nan"),
    float("inf"),
    True,
    ["a"],
    {"a": 1},
]
ALL_BASES = {**BASE_ROWS, **BASE}


@settings(max_examples=400, deadline=None)
@given(
    entity=st.sampled_from(sorted(ALL_BASES)),
    tenant_map=st.sampled_from([DEFAULT_MAP, OVERRIDES, DOCUMENT_OVERRIDES, CUSTOM_INVOICES]),
    data=st.data(),
)
def test_awkward_values_in_any_column_fail_or_pass_alike(
    entity: Entity, tenant_map: TenantMap, data: Any
) -> None:
    base = ALL_BASES[entity]
    name = data.draw(st.sampled_from(sorted(base)))
    value = data.draw(st.sampled_from(AWKWARD_VALUES) | anything)
    assert_same(entity, tenant_map, {**base, name: value}, "01-ABF")


@given(entity=st.sampled_from(sorted(ALL_BASES)), column=st.data())
def test_one_bad_column_is_reported_under_the_same_name_by_both(
    entity: Entity, column: Any
) -> None:
    base = ALL_BASES[entity]
    name = column.draw(st.sampled_from(sorted(c for c, x in base.items() if isinstance(x, str))))
    row = {**base, name: column.draw(st.sampled_from(["\x00", "x" * 300, "\ufffd", 12.5]))}
    tenant_map = OVERRIDES if entity in MASTER_DATA else DOCUMENT_OVERRIDES
    expected = generic(entity, tenant_map, row, "01-ABF")
    got = engine(entity, tenant_map, row, "01-ABF")
    assert type(got) is type(expected)
    if isinstance(expected, MappingError):
        # The same column; which of its Zoho fields is named first may differ after a rename.
        # Where the reference's hand-kept sources lacked a document field, it named the Zoho
        # field; the engine names the Sage column.
        assert got.field in (expected.field, name), (got, expected)


def test_a_skipped_field_is_not_read_at_all() -> None:
    """The one intended difference: a skipped field's column cannot stop the record."""
    tenant_map = parse_map(
        "entities:\n  ar_customer:\n    skip: [Website]\n  sales_order:\n    skip: [Carrier]\n"
    )
    [(_, cmd)] = map_event(raw_event(URLAddress="www.\x00bad"), tenant_map)
    assert isinstance(cmd, ZohoUpsertCommand) and "Website" not in cmd.record
    *_, (_, order) = map_event(event(Entity.SALES_ORDER, rows.order_row(ShipVia=12)), tenant_map)
    assert isinstance(order, ZohoUpsertCommand) and "Carrier" not in order.record
    [(_, letter)] = map_event(event(Entity.SALES_ORDER, rows.order_row(ShipVia=12)))
    assert isinstance(letter, DeadLetter) and letter.field == "ShipVia"


def test_mappings_are_compiled_once_per_tenant_map() -> None:
    tenant_map = parse_map("entities:\n  ar_customer:\n    rename: {Fax: Fax_Number}\n")
    map_event(raw_event(), tenant_map)
    compiled = tenant_map.compiled[Entity.AR_CUSTOMER]
    map_event(raw_event(CustomerName="Other"), tenant_map)
    assert tenant_map.compiled[Entity.AR_CUSTOMER] is compiled
    assert DEFAULT_MAP.compiled.get(Entity.AR_CUSTOMER) is not compiled


def test_a_field_copied_from_the_same_columns_is_held_to_its_own_limits() -> None:
    """Shipping_City copies Billing_City's value; renamed onto a phone field it is checked
    again under that field's format."""
    tenant_map = parse_map("entities:\n  ar_customer:\n    rename: {Shipping_City: Mobile}\n")
    [(_, cmd)] = map_event(raw_event(City="555-1234"), tenant_map)
    assert isinstance(cmd, ZohoUpsertCommand)
    assert cmd.record["Billing_City"] == cmd.record["Mobile"] == "555-1234"
    [(_, letter)] = map_event(raw_event(City="Milwaukee"), tenant_map)
    assert isinstance(letter, DeadLetter) and letter.field == "City"
    assert "not a phone number: 'Milwaukee'" in letter.error_message


def test_an_amount_renamed_onto_a_text_field_is_refused() -> None:
    overrides = OVERRIDES.entities[Entity.AR_CUSTOMER]
    mapping = compile_mapping(MASTER_DATA[Entity.AR_CUSTOMER], overrides, OVERRIDES.codes)
    assert mapping.fill(sage_customer(), "01-ABF")["Fax_Number"] == "(414) 555-4788"
    renamed = parse_map("entities:\n  ar_customer:\n    rename: {Sage_Credit_Limit: Phone}\n")
    with pytest.raises(MappingError, match="takes text") as failed:
        compiled_mapping(Entity.AR_CUSTOMER, renamed).drafts(sage_customer(), "01-ABF")
    assert failed.value.field == "CreditLimit"


def test_commands_equal_validated_ones_field_for_field() -> None:
    for raw in (raw_event(ContactCode="ARTIE"), event(Entity.SALES_ORDER, rows.order_row())):
        for _, cmd in map_event(raw):
            assert isinstance(cmd, ZohoUpsertCommand)
            validated = ZohoUpsertCommand.model_validate(cmd.model_dump())
            assert validated == cmd and validated.model_dump_json() == cmd.model_dump_json()
            assert cmd.model_fields_set == set(ZohoUpsertCommand.model_fields)
