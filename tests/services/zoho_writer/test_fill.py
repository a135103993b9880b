"""The linger decision: keep fetching while some tenant's entity has a partly filled call."""

from __future__ import annotations

from mlc_core.contracts import record_key
from zoho_writer.fill import fill_group, wants_more

from tests.factories import FakeRecord


def commands(tenant: str, entity: str, n: int, start: int = 0) -> list[FakeRecord]:
    return [
        FakeRecord(b"{}", key=record_key(tenant, entity, f"01-{i:06}|x"))
        for i in range(start, start + n)
    ]


def test_the_group_is_tenant_and_entity_even_when_the_source_key_holds_bars() -> None:
    assert fill_group(record_key("acme", "ar_customer", "01|A|B")) == b"acme|ar_customer"
    assert fill_group(b"acme") == b"acme"  # a tenant-wide dead letter's key
    assert fill_group(None) is None and fill_group(b"") is None


def test_a_partly_filled_call_wants_more() -> None:
    assert wants_more(commands("acme", "ar_customer", 37))
    assert wants_more(commands("acme", "ar_customer", 1))
    assert wants_more(commands("acme", "ar_customer", 101))


def test_whole_calls_want_nothing_more() -> None:
    assert not wants_more(commands("acme", "ar_customer", 100))
    assert not wants_more(commands("acme", "ar_customer", 300))
    assert not wants_more([])


def test_counted_per_tenant_and_entity_not_in_all() -> None:
    # 50 + 50 would be one whole call in all, but they are two tenants' half calls
    two_tenants = commands("acme", "ar_customer", 50) + commands("beta", "ar_customer", 50)
    assert wants_more(two_tenants)
    two_entities = commands("acme", "ar_customer", 50) + commands("acme", "customer_contact", 50)
    assert wants_more(two_entities)
    whole_each = commands("acme", "ar_customer", 200) + commands("beta", "customer_contact", 100)
    assert not wants_more(whole_each)


def test_one_tenant_partly_filled_among_whole_ones_wants_more() -> None:
    records = commands("acme", "ar_customer", 100) + commands("beta", "ar_customer", 3)
    assert wants_more(records)


def test_records_without_a_key_do_not_hold_the_batch() -> None:
    records = [*commands("acme", "ar_customer", 100), FakeRecord(b"junk", key=None)]
    assert not wants_more(records)


def test_the_call_size_is_a_parameter() -> None:
    assert not wants_more(commands("acme", "ar_customer", 20), per_call=10)
    assert wants_more(commands("acme", "ar_customer", 25), per_call=10)
