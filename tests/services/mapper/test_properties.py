"""Property tests over generated Sage rows of every entity.

Whatever a row holds, the mapper never raises: each raw event becomes commands or exactly one
dead letter naming tenant, entity and key. Every command it does produce is accepted by the
Zoho emulator's own validator (lengths, formats, types, mandatory fields and line-item rows,
a check independent of the mapper's), once the writer has filled its lookups, and the writer
sends them in calls of at most 100 records.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapper.service import map_event
from mlc_core.contracts import (
    DeadLetter,
    Entity,
    SageRecordChanged,
    ZohoDeleteCommand,
    ZohoUpsertCommand,
    encode,
)
from zoho_emulator.catalog import custom_module, standard_modules
from zoho_emulator.validation import check_mandatory, clean_values
from zoho_writer.service import chunks

from tests.factories import sage_customer
from tests.services.mapper import rows
from tests.services.mapper.rows import event

BASE_ROWS = {
    Entity.AR_CUSTOMER: sage_customer(
        AgingCategory1=1.0, DateLastPayment="20261001", LastPaymentAmt=5.0, CustomerType="RET"
    ),
    Entity.CUSTOMER_CONTACT: rows.contact_row(CustomerContactCode="ARTIE"),
    Entity.AP_VENDOR: rows.vendor_row(),
    Entity.SALES_ORDER: rows.order_row(CRMOpportunityID="5725767000000524157"),
    Entity.AR_INVOICE: rows.invoice_row(),
    Entity.AR_OPEN_INVOICE: rows.open_invoice_row(CRMOpportunityID="5725767000000524157"),
    Entity.AP_OPEN_INVOICE: rows.ap_invoice_row(HoldPayment="N", Comment="x"),
    Entity.GL_ACCOUNT: rows.gl_account_row(),
    Entity.GL_ACCOUNT_GROUP: rows.gl_group_row(),
}
STANDARD = standard_modules()

scalars = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=40),
    st.text(alphabet="0123456789-", max_size=10),
    st.text(min_size=190, max_size=400),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["Y", "N", "A", "I", "O", "20261126", "2026-02-30", "US", "ZZZ", "\ufffd"]),
)
anything = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(st.text(), scalars))


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The base row with any of its columns replaced (often by nonsense) or removed."""
    columns = sorted(base)
    return st.dictionaries(st.sampled_from(columns), anything, max_size=3).map(
        lambda changes: {**base, **changes}
    )


def line_rows() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(mutated(rows.order_line()), max_size=25),
        st.lists(st.just(rows.order_line()), max_size=120),
        anything,
    )


def entity_rows(entity: Entity) -> st.SearchStrategy[dict[str, Any]]:
    base = mutated(BASE_ROWS[entity])
    if entity not in (Entity.SALES_ORDER, Entity.AR_INVOICE, Entity.AR_OPEN_INVOICE):
        return base
    return st.tuples(base, st.booleans(), line_rows()).map(
        lambda t: {**t[0], "Lines": t[2]} if t[1] else t[0]
    )


events = st.sampled_from(sorted(BASE_ROWS)).flatmap(
    lambda entity: entity_rows(entity).map(lambda row: event(entity, row))
)


def _module_def(name: str) -> Any:
    return STANDARD.get(name) or custom_module(name, name, 1)


def _with_lookups_resolved(cmd: ZohoUpsertCommand) -> dict[str, Any]:
    """What the writer sends: every lookup path set to a Zoho id."""
    record = {k: (list(v) if isinstance(v, list) else v) for k, v in cmd.record.items()}
    for link in cmd.lookups:
        target: Any = record
        *parents, last = link.path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = {"id": "5725767000000000001"}
    return record


def assert_zoho_accepts(cmd: ZohoUpsertCommand) -> None:
    module = _module_def(cmd.module)
    record = _with_lookups_resolved(cmd)
    values = clean_values(module, record, 0, lambda _module, _id: True)
    # A record named by its Zoho id (a deal) is updated, never inserted.
    check_mandatory(module, values, 0, inserting=cmd.external_field != "id")
    for field, value in record.items():  # custom fields the emulator does not know
        if isinstance(value, float):
            assert math.isfinite(value), field
        if isinstance(value, str):
            assert len(value) <= 32000 and "\ufffd" not in value, field


def assert_names_the_record(letter: DeadLetter, raw: SageRecordChanged) -> None:
    for part in (raw.tenant_id, raw.entity, raw.source_key):
        assert part in letter.error_message
    assert letter.original == raw.model_dump(mode="json")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events)
def test_mapper_never_raises_and_every_command_is_valid_for_zoho(raw: SageRecordChanged) -> None:
    produced = map_event(raw)
    assert produced, "an enabled entity always yields something"
    letters = [out for _, out in produced if isinstance(out, DeadLetter)]
    if letters:
        assert len(produced) == 1
        assert_names_the_record(letters[0], raw)
        return
    for _, cmd in produced:
        assert isinstance(cmd, ZohoUpsertCommand)
        assert_zoho_accepts(cmd)
        encode(cmd)  # serialisable for Kafka


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(events, min_size=1, max_size=60))
def test_commands_go_to_zoho_in_calls_of_at_most_100(batch: list[SageRecordChanged]) -> None:
    commands = [
        cmd for raw in batch for _, cmd in map_event(raw) if isinstance(cmd, ZohoUpsertCommand)
    ]
    sizes = [len(group) for _, group in chunks(commands)]
    assert sum(sizes) == len(commands) and all(size <= 100 for size in sizes)


@given(entity=st.sampled_from(sorted(BASE_ROWS)))
def test_deletes_never_raise(entity: Entity) -> None:
    [(_, cmd)] = map_event(rows.deleted(entity))
    assert isinstance(cmd, ZohoDeleteCommand)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_text_in_any_column_is_refused_by_name_or_accepted_by_zoho(data: st.DataObject) -> None:
    entity = data.draw(st.sampled_from(sorted(BASE_ROWS)))
    base = BASE_ROWS[entity]
    column = data.draw(st.sampled_from(sorted(c for c, v in base.items() if isinstance(v, str))))
    value = data.draw(st.one_of(st.text(min_size=1, max_size=400), st.text("ab @.x", max_size=300)))
    raw = event(entity, {**base, column: value})
    produced = map_event(raw)
    if isinstance(produced[0][1], DeadLetter):
        field = produced[0][1].field or ""
        assert column in field.split("+"), produced[0][1].error_message
        return
    for _, cmd in produced:
        assert isinstance(cmd, ZohoUpsertCommand)
        assert_zoho_accepts(cmd)
