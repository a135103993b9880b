"""The poller against the emulator through the real agent, on the real Kafka and PostgreSQL:
every entity, same-second batches, DST, deletes, renumbering, stamp-less imports, record locks
and damaged records."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from mlc_core.contracts import DeadLetter, Entity, SagePollAttempt, Topics
from mlc_core.entities.sage import SAGE_TABLES

from tests.services.sage_poller.sage_harness import (
    Harness,
    changes,
    deletes,
    read_topic,
)

pytestmark = pytest.mark.integration


def stamp_later_record(h: Harness, table: str, record: dict) -> None:
    """Write one record an hour later, so the watermark leaves the seeded stamps behind the
    overlap window: what follows is then invisible to the stamps, as in a real day."""
    h.side.state.clock.advance(3600)
    with h.control() as control:
        control.post(f"/_emulator/companies/ABC/tables/{table}", json={"records": [record]})


def table_rows(h: Harness, entity: Entity) -> list[dict]:
    return h.side.state.company("ABC").table(SAGE_TABLES[entity].table).rows()


@pytest.mark.parametrize("entity", list(Entity))
async def test_every_entity_arrives_as_raw_events_with_sage_fields(
    harness: Harness, entity: Entity
) -> None:
    await harness.poll(entity)
    events = changes(harness.take())
    rows = table_rows(harness, entity)
    assert len(events) == len(rows) > 0
    by_key = {e.source_key: e for e in events}
    for row in rows:
        event = by_key[SAGE_TABLES[entity].source_key(row)]
        sent = SAGE_TABLES[entity].withheld(row, frozenset())  # sensitive columns stay home
        assert {k: event.record[k] for k in sent} == sent  # Sage's names and formats, unchanged
        assert event.change == "created" and event.company_code == "ABC"
    if entity is Entity.SALES_ORDER:
        assert all(e.record["Lines"] for e in events)
    await harness.poll(entity)
    assert changes(harness.take()) == []  # re-read by the overlap, not re-emitted


async def test_changed_record_is_marked_updated(harness: Harness) -> None:
    await harness.poll(Entity.AP_VENDOR)
    harness.take()
    vendor = table_rows(harness, Entity.AP_VENDOR)[0]
    harness.side.state.clock.advance(5)
    with harness.control() as control:
        control.post(
            "/_emulator/companies/ABC/tables/AP_Vendor",
            json={"records": [{**_key(vendor, Entity.AP_VENDOR), "VendorName": "Renamed Co"}]},
        )
    await harness.poll(Entity.AP_VENDOR)
    (event,) = changes(harness.take())
    assert event.change == "updated" and event.record["VendorName"] == "Renamed Co"


async def test_same_second_batch_across_pages_is_complete(harness: Harness) -> None:
    clock = harness.side.state.clock
    clock.freeze()
    await harness.poll(Entity.AR_CUSTOMER)
    harness.take()
    batch = [{"CustomerNo": f"SAME{i:02d}", "CustomerName": f"Batch {i}"} for i in range(25)]
    with harness.control() as control:
        control.post("/_emulator/companies/ABC/ar_customers", json={"records": batch})
    await harness.poll(Entity.AR_CUSTOMER, page_size=7)
    got = {e.source_key for e in changes(harness.take())}
    assert got == {f"01-SAME{i:02d}" for i in range(25)}
    with harness.control() as control:  # same second again: one more change in that stamp
        control.post(
            "/_emulator/companies/ABC/ar_customers",
            json={"records": [{"CustomerNo": "SAME03", "City": "Peoria"}]},
        )
    await harness.poll(Entity.AR_CUSTOMER, page_size=7)
    assert [e.source_key for e in changes(harness.take())] == ["01-SAME03"]


CHICAGO_FIRST_0140 = dt.datetime(2026, 11, 1, 1, 40, tzinfo=ZoneInfo("America/Chicago"))


@pytest.mark.parametrize(
    "side", [{"tz": "America/Chicago", "freeze_at": CHICAGO_FIRST_0140}], indirect=True
)
async def test_dst_fall_back_repeated_hour_is_caught(harness: Harness) -> None:
    clock = harness.side.state.clock
    with harness.control() as control:
        control.post(
            "/_emulator/companies/ABC/ar_customers", json={"records": [{"CustomerNo": "DSTA"}]}
        )
    await harness.poll(Entity.AR_CUSTOMER)
    assert "01-DSTA" in {e.source_key for e in changes(harness.take())}
    clock.advance(30 * 60)  # 01:40 CDT + 30 min = 01:10 CST: the wall clock went back
    assert clock.stamp().time.startswith("1.1")
    with harness.control() as control:
        control.post(
            "/_emulator/companies/ABC/ar_customers", json={"records": [{"CustomerNo": "DSTB"}]}
        )
    await harness.poll(Entity.AR_CUSTOMER)
    assert [e.source_key for e in changes(harness.take())] == ["01-DSTB"]


async def test_deletes_and_renumbering_found_by_key_reconciliation(harness: Harness) -> None:
    stamp_later_record(harness, "AR_Customer", {"ARDivisionNo": "01", "CustomerNo": "LATER"})
    await harness.poll(Entity.AR_CUSTOMER)
    await harness.poll(Entity.CUSTOMER_CONTACT)
    harness.take()
    first, second = table_rows(harness, Entity.AR_CUSTOMER)[1:3]
    contact = table_rows(harness, Entity.CUSTOMER_CONTACT)[5]
    with harness.control() as control:
        control.post(
            "/_emulator/companies/ABC/tables/AR_Customer/delete",
            json={"key": [first["ARDivisionNo"], first["CustomerNo"]]},
        )
        control.post(
            "/_emulator/companies/ABC/tables/AR_Customer/renumber",
            json={
                "key": [second["ARDivisionNo"], second["CustomerNo"]],
                "new_key": ["01", "RENUM1"],
            },
        )
        control.post(
            "/_emulator/companies/ABC/tables/AR_CustomerContact/delete",
            json={"key": list(_key(contact, Entity.CUSTOMER_CONTACT).values())},
        )
    await harness.poll(Entity.AR_CUSTOMER)
    assert changes(harness.take()) == []  # invisible to stamps
    result = await harness.reconcile(Entity.AR_CUSTOMER)
    events = harness.take()
    # The renumbered customer is no delete: its record goes out under the new key, naming
    # the old one (docs/sage.md, "Renumbering").
    assert [e.source_key for e in deletes(events)] == [f"01-{first['CustomerNo']}"]
    assert (result.deleted, result.renumbered) == (1, 1)
    (moved,) = changes(events)
    assert (moved.source_key, moved.renumbered_from) == ("01-RENUM1", f"01-{second['CustomerNo']}")
    await harness.reconcile(Entity.CUSTOMER_CONTACT)
    gone = deletes(harness.take())  # the second customer's contacts moved with it: no deletes
    assert [e.source_key for e in gone] == [
        SAGE_TABLES[Entity.CUSTOMER_CONTACT].source_key(contact)
    ]
    assert gone[0].last_version is not None
    await harness.reconcile(Entity.AR_CUSTOMER)
    assert harness.take() == []  # nothing new: no repeated deletes


async def test_stampless_bulk_import_caught_by_reconciliation_hash(harness: Harness) -> None:
    later = {"InvoiceNo": "0900001", "HeaderSeqNo": "000000", "CustomerNo": "LATER"}
    stamp_later_record(harness, "AR_InvoiceHistoryHeader", later)
    await harness.poll(Entity.AR_INVOICE)
    harness.take()
    rows = table_rows(harness, Entity.AR_INVOICE)[:3]
    imported = [{**_key(r, Entity.AR_INVOICE), "CustomerPONo": "VI-IMPORT"} for r in rows]
    with harness.control() as control:
        control.post(
            "/_emulator/companies/ABC/tables/AR_InvoiceHistoryHeader",
            json={"records": imported, "touch_stamps": False},
        )
    await harness.poll(Entity.AR_INVOICE)
    assert changes(harness.take()) == []
    await harness.reconcile(Entity.AR_INVOICE)
    found = changes(harness.take())
    assert {e.record["CustomerPONo"] for e in found} == {"VI-IMPORT"} and len(found) == 3


@pytest.mark.parametrize("side", [{"lock_attempts": 1}], indirect=True)
async def test_ten_percent_lock_rate_yields_every_record_with_attempts_audited(
    harness: Harness, kafka_bootstrap: str
) -> None:
    with harness.control() as control:
        control.post("/_emulator/boi/locks", json={"rate": 0.1, "seed": 4})
    harness.attempts = 8
    for _ in range(4):
        for entity in Entity:
            await harness.poll(entity)
            await harness.reconcile(entity)
    events = harness.take()
    for entity in Entity:
        emitted = {e.source_key for e in changes(events) if e.entity == entity}
        assert emitted == {SAGE_TABLES[entity].source_key(r) for r in table_rows(harness, entity)}
    attempts = [e for e in events if isinstance(e, SagePollAttempt)]
    outcomes = {a.outcome for a in attempts}
    assert {"failed", "recovered"} <= outcomes and "gave_up" not in outcomes
    assert all(a.error_class == "SageRecordLocked" for a in attempts if a.outcome == "failed")
    on_kafka = await read_topic(
        kafka_bootstrap, Topics.SAGE_POLL_ATTEMPTS, harness.tenant.tenant_id, len(attempts)
    )
    assert {e.event_id for e in on_kafka} == {a.event_id for a in attempts}


@pytest.mark.parametrize("side", [{"lock_attempts": 1}], indirect=True)
async def test_named_lock_past_threshold_gives_up_then_next_cycle_recovers(
    harness: Harness,
) -> None:
    from sage_poller.retry import PollGaveUp

    with harness.control() as control:
        control.post("/_emulator/boi/locks", json={"rate": 1.0})
    harness.attempts = 3
    with pytest.raises(PollGaveUp):
        await harness.poll(Entity.GL_ACCOUNT)
    attempts = [e for e in harness.take() if isinstance(e, SagePollAttempt)]
    assert [a.outcome for a in attempts] == ["failed", "failed", "gave_up"]
    assert await harness.store.watermark(harness.tenant.tenant_id, Entity.GL_ACCOUNT) is None
    with harness.control() as control:
        control.post("/_emulator/boi/locks", json={"rate": 0.0})
    await harness.poll(Entity.GL_ACCOUNT)
    assert len(changes(harness.take())) == len(table_rows(harness, Entity.GL_ACCOUNT))


async def test_bad_records_give_clear_errors_and_block_nothing(harness: Harness) -> None:
    await harness.poll(Entity.AR_CUSTOMER)
    harness.take()
    bad = [
        {"ARDivisionNo": "01", "CustomerNo": "", "CustomerName": "No key"},
        {"ARDivisionNo": "01", "CustomerNo": "X" * 25, "CustomerName": "Long key"},
        {"ARDivisionNo": "01", "CustomerNo": "BADDATE", "DateEstablished": "20261341"},
        {"ARDivisionNo": "01", "CustomerNo": "LATIN1", "CustomerName": {"$bytes_hex": "436166e9"}},
        {"ARDivisionNo": "01", "CustomerNo": "GOOD1", "CustomerName": "Good One"},
    ]
    with harness.control() as control:
        stored = control.post(
            "/_emulator/companies/ABC/tables/AR_Customer", json={"records": bad, "raw": True}
        )
    assert stored.status_code == 200, stored.text
    await harness.poll(Entity.AR_CUSTOMER)
    events = harness.take()
    assert [e.source_key for e in changes(events)] == ["01-GOOD1"]
    letters = {e.field: e for e in events if isinstance(e, DeadLetter)}
    assert set(letters) == {"CustomerNo", "DateEstablished", "CustomerName"}
    tenant = harness.tenant.tenant_id
    assert "01-BADDATE" in letters["DateEstablished"].error_message
    assert "not valid UTF-8" in letters["CustomerName"].error_message
    assert "01-LATIN1" in letters["CustomerName"].error_message
    assert all(
        tenant in d.error_message and "ar_customer" in d.error_message for d in letters.values()
    )
    no_key = [e for e in events if isinstance(e, DeadLetter) and e.field == "CustomerNo"]
    assert len(no_key) == 2  # the blank key and the 25-character key


def _key(row: dict, entity: Entity) -> dict[str, str]:
    return {c: row[c] for c in SAGE_TABLES[entity].key_columns}
