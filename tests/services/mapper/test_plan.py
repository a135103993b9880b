"""Compiled plans (mapper.plan) against the generic path they replace for master data.

The generic path builds the whole record with the values helpers, applies the tenant's map
(TenantMap.apply) and checks Zoho's limits (limits.check_record). The plan must give the same
record and links for every row, and fail exactly when the generic path fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapper import values as v
from mapper.construct import trusted
from mapper.drafts import Draft
from mapper.limits import check_record
from mapper.mapfile import parse_map
from mapper.plan import EntitySpec, compile_plan
from mapper.profile import DEFAULT_MAP, TenantMap
from mapper.service import SPECS, map_event
from mapper.values import MappingError
from mlc_core.contracts import Entity, ZohoUpsertCommand

from tests.factories import raw_event, sage_customer
from tests.services.mapper import rows
from tests.services.mapper.rows import event
from tests.services.mapper.test_properties import mutated

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
    rename: {Title: Department}
    codes: {Department: types}
    defaults: {Salutation: Dear}
  ap_vendor:
    fields: {Website: {column: UDF_SITE}}
""")
BASE = {
    Entity.AR_CUSTOMER: sage_customer(UDF_INDUSTRY="RET", CustomerType="1", ContactCode="ARTIE"),
    Entity.CUSTOMER_CONTACT: rows.contact_row(PrimaryContact="Y", FaxNo="555-1"),
    Entity.AP_VENDOR: rows.vendor_row(UDF_SITE="www.acme.com"),
}


def generic(spec: EntitySpec, entity: Entity, tenant_map: TenantMap, row: Any, key: str) -> Any:
    """The record the generic path makes, or the MappingError it raises."""
    try:
        record = {f.name: _value(f, row, key) for f in spec.fields}
        sources = {f.name: f.source for f in spec.fields if f.source is not None}
        draft = Draft(spec.module, key, v.compact(record), sources, spec.links(row, key))
        tenant_map.apply(entity, draft, row)
        check_record(draft.module, draft.record, draft.sources)
    except MappingError as error:
        return error
    return draft.record, draft.lookups


def _value(field: Any, row: Any, key: str) -> Any:
    if field.key:
        return key
    if field.column is not None:
        if field.required:
            return v.required_text(row, field.column, field.name)
        return v.text(row, field.column)
    return field.read(row)


def planned(entity: Entity, tenant_map: TenantMap, row: Any, key: str) -> Any:
    plan = compile_plan(SPECS[entity], tenant_map.entities.get(entity), tenant_map.codes)
    try:
        draft = plan.draft(row, key)
    except MappingError as error:
        return error
    return draft.record, draft.lookups


cases = st.tuples(
    st.sampled_from(sorted(BASE)), st.sampled_from([DEFAULT_MAP, OVERRIDES]), st.data()
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_a_plan_maps_every_row_as_the_generic_path_does(case: Any) -> None:
    entity, tenant_map, data = case
    row = data.draw(mutated(BASE[entity]))
    key = data.draw(st.sampled_from(["01-ABF", "01-" + "K" * 45]))
    expected = generic(SPECS[entity], entity, tenant_map, row, key)
    got = planned(entity, tenant_map, row, key)
    if isinstance(expected, MappingError):
        assert isinstance(got, MappingError), (expected, got)
        return
    assert not isinstance(got, MappingError), (expected, got)
    assert got == expected


@given(entity=st.sampled_from(sorted(BASE)), column=st.data())
def test_one_bad_column_is_reported_under_the_same_name_by_both(
    entity: Entity, column: Any
) -> None:
    name = column.draw(
        st.sampled_from(sorted(c for c, x in BASE[entity].items() if isinstance(x, str)))
    )
    row = {**BASE[entity], name: column.draw(st.sampled_from(["\x00", "x" * 300, "\ufffd", 12.5]))}
    expected = generic(SPECS[entity], entity, OVERRIDES, row, "01-ABF")
    got = planned(entity, OVERRIDES, row, "01-ABF")
    assert type(got) is type(expected)
    if isinstance(expected, MappingError):
        # The same column; which of its Zoho fields is named first may differ after a rename.
        assert got.field == expected.field, (got, expected)


def test_a_skipped_field_is_not_read_at_all() -> None:
    """The one intended difference: a skipped field's column cannot stop the record."""
    tenant_map = parse_map("entities:\n  ar_customer:\n    skip: [Website]\n")
    [(_, cmd)] = map_event(raw_event(URLAddress="www.\x00bad"), tenant_map)
    assert isinstance(cmd, ZohoUpsertCommand) and "Website" not in cmd.record


def test_plans_are_compiled_once_per_tenant_map() -> None:
    tenant_map = parse_map("entities:\n  ar_customer:\n    rename: {Fax: Fax_Number}\n")
    map_event(raw_event(), tenant_map)
    plan = tenant_map.plans[Entity.AR_CUSTOMER]
    map_event(raw_event(CustomerName="Other"), tenant_map)
    assert tenant_map.plans[Entity.AR_CUSTOMER] is plan
    assert (
        Entity.AR_CUSTOMER not in DEFAULT_MAP.plans
        or DEFAULT_MAP.plans[Entity.AR_CUSTOMER] is not plan
    )


def test_commands_built_without_validation_equal_validated_ones() -> None:
    for raw in (raw_event(ContactCode="ARTIE"), event(Entity.SALES_ORDER, rows.order_row())):
        for _, cmd in map_event(raw):
            assert isinstance(cmd, ZohoUpsertCommand)
            validated = ZohoUpsertCommand.model_validate(cmd.model_dump())
            assert validated == cmd and validated.model_dump_json() == cmd.model_dump_json()
            assert cmd.model_fields_set == set(ZohoUpsertCommand.model_fields)
    fields = _command_fields()
    assert trusted(ZohoUpsertCommand, **fields) == ZohoUpsertCommand.model_validate(fields)
    fields.pop("force", None), fields.pop("trigger")  # defaults are filled in
    assert trusted(ZohoUpsertCommand, **fields) == ZohoUpsertCommand.model_validate(fields)
    with pytest.raises(TypeError, match="module"):
        trusted(ZohoUpsertCommand, **{k: x for k, x in fields.items() if k != "module"})


def _command_fields() -> dict[str, Any]:
    cmd = map_event(raw_event())[0][1]
    return {name: getattr(cmd, name) for name in ZohoUpsertCommand.model_fields}
