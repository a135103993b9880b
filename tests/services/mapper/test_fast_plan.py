"""The generated code of a compiled plan (Plan.fill) against the loop over the plan's steps
it replaced (`interpreted`, kept here as it was): the same record, in the same field order,
or the same MappingError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapper import values as v
from mapper.mapfile import parse_map
from mapper.masters import CONTACT, CUSTOMER, VENDOR
from mapper.plan import (
    _COPY,
    _KEY,
    _MONEY,
    _READ,
    _REQUIRED_TEXT,
    EntitySpec,
    Plan,
    _too_long,
    column,
    compile_plan,
    computed,
    key,
    money,
    text,
)
from mapper.profile import DEFAULT_MAP, TenantMap
from mapper.values import MappingError
from mlc_core.contracts import Entity

from tests.services.mapper.test_plan import BASE, OVERRIDES
from tests.services.mapper.test_properties import anything, mutated

SPECS = {Entity.AR_CUSTOMER: CUSTOMER, Entity.CUSTOMER_CONTACT: CONTACT, Entity.AP_VENDOR: VENDOR}
# Skips, defaults and a text field renamed onto a formatted one (its check runs inline).
MORE = parse_map("""\
entities:
  ar_customer:
    skip: [Fax, Sage_Aging_2]
    rename: {Account_Type: Website, Website: Old_Website}
    defaults: {Billing_Country: USA}
  customer_contact:
    rename: {Fax: Mobile, Phone: Phone_Main}
""")


def interpreted(plan: Plan, row: Any, source_key: str) -> dict[str, Any]:
    """Plan.record before its steps were generated as code: one step at a time."""
    record: dict[str, Any] = {}
    get = row.get
    value: Any
    for kind, name, arg, limit, check in plan.steps:
        if kind <= _REQUIRED_TEXT:
            value = get(arg)
            if value.__class__ is str and (value := value.strip()):
                if not value.isprintable() or "\ufffd" in value:
                    v.check_encoding(arg, value)
                if len(value) > limit:
                    raise _too_long(plan.module, arg, name, value, limit)
                if check is not None:
                    check(value)
                record[name] = value
            elif value is not None and not isinstance(value, str):
                raise MappingError(arg, f"expected text, got {type(value).__name__}")
            elif kind == _REQUIRED_TEXT:
                raise MappingError(arg, f"is empty; Zoho requires {name}")
        elif kind == _MONEY:
            value = get(arg)
            cls = value.__class__
            if cls is float or cls is int:
                amount = float(value)
                if amount - amount == 0.0:  # finite; NaN and infinities take the slow path
                    record[name] = round(round(amount, 6), 2)
                    continue
            if value is not None and (value := v.money(row, arg)) is not None:
                record[name] = value
        elif kind == _KEY:
            if len(source_key) > limit:
                raise _too_long(plan.module, name, name, source_key, limit)
            record[name] = source_key
        elif kind in (_READ, _COPY):
            value = arg(row) if kind == _READ else record.get(arg)
            if value is not None:
                if check is not None:
                    check(value)
                record[name] = value
        else:
            arg(row, source_key, record)
    return record


def outcome(run: Any, row: Any, source_key: str) -> Any:
    """The record as (field, value) pairs in order, or the error's type, column and text."""
    try:
        record = run(row, source_key)
    except MappingError as error:
        return ("MappingError", error.field, str(error))
    except Exception as error:  # the same unforeseen failure (e.g. a number too big for float)
        return (type(error).__name__, str(error))
    return list(record.items())


def assert_same(plan: Plan, row: Any, source_key: str) -> None:
    expected = outcome(lambda r, k: interpreted(plan, r, k), row, source_key)
    assert outcome(plan.fill, row, source_key) == expected


def plan_of(entity: Entity, tenant_map: TenantMap) -> Plan:
    return compile_plan(SPECS[entity], tenant_map.entities.get(entity), tenant_map.codes)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entity=st.sampled_from(sorted(SPECS)),
    tenant_map=st.sampled_from([DEFAULT_MAP, OVERRIDES, MORE]),
    data=st.data(),
)
def test_generated_code_maps_every_row_as_the_step_loop_does(
    entity: Entity, tenant_map: TenantMap, data: Any
) -> None:
    row = data.draw(mutated(BASE[entity]))
    source_key = data.draw(st.sampled_from(["01-ABF", "01-" + "K" * 45, "01-ÄBF\x00", ""]))
    assert_same(plan_of(entity, tenant_map), row, source_key)


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
    "not a site",
    "artie@abf.com",
    "artie at abf",
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


@settings(max_examples=300, deadline=None)
@given(
    entity=st.sampled_from(sorted(SPECS)),
    tenant_map=st.sampled_from([DEFAULT_MAP, OVERRIDES, MORE]),
    data=st.data(),
)
def test_awkward_values_in_any_column_fail_or_pass_alike(
    entity: Entity, tenant_map: TenantMap, data: Any
) -> None:
    base = BASE[entity]
    name = data.draw(st.sampled_from(sorted(base)))
    value = data.draw(st.sampled_from(AWKWARD_VALUES) | anything)
    assert_same(plan_of(entity, tenant_map), {**base, name: value}, "01-ABF")


def _strange_spec(column_name: str, field_name: str) -> EntitySpec:
    return EntitySpec(
        "Accounts",
        (
            text("Account_Name", column_name, required=True),
            text(field_name, column_name),
            text("Website", column_name),
            money(f"{field_name}_Amount", "Amount"),
            key(f"{field_name}_Key"),
            column("Phone", v.text, column_name),
            computed("Fax", column_name, lambda row: v.text(row, column_name)),
        ),
        links=lambda row, source_key: [],
    )


@given(
    column_name=st.text(min_size=1, max_size=30),
    field_name=st.text(min_size=1, max_size=30),
    value=st.sampled_from(["www.abf.com", "ABF", 5.25, None, "x" * 300]),
)
def test_names_with_quotes_and_code_in_them_stay_plain_text(
    column_name: str, field_name: str, value: Any
) -> None:
    plan = compile_plan(_strange_spec(column_name, field_name), None, {})
    assert_same(plan, {column_name: value, "Amount": value}, "01-ABF")


def test_a_column_name_that_looks_like_code_is_only_a_key() -> None:
    hostile = "x'] = 1\nraise SystemExit('ran') #"
    plan = compile_plan(_strange_spec(hostile, hostile + "'"), None, {})
    record = plan.fill({hostile: "555.1234"}, "01-ABF")  # a phone and a web address
    assert record["Account_Name"] == record[hostile + "'"] == "555.1234"
    assert record[hostile + "'_Key"] == "01-ABF"
    with pytest.raises(MappingError) as failed:
        plan.fill({hostile: " "}, "01-ABF")
    assert failed.value.field == hostile
