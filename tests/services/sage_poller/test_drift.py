"""No silent drift on the Sage side, on the real Kafka and PostgreSQL, through the agent:
an edit stamped an hour before the last one seen (Sage's clock went back) and sensitive
columns the tenant's map does not ask for."""

from __future__ import annotations

import time

import asyncpg
from mlc_core.contracts import Entity, SageRecordChanged, Topics
from mlc_core.entities.sage import SAGE_TABLES

from tests.services.sage_poller.sage_harness import Harness, changes, deletes, read_topic

SSN = "TaxpayerIDSocialSecurityNo"


def rows(h: Harness, entity: Entity) -> list[dict]:
    return h.side.state.company("ABC").table(SAGE_TABLES[entity].table).rows()


async def test_an_edit_after_the_clock_went_back_an_hour_reaches_kafka_on_reconcile(
    harness: Harness,
) -> None:
    await harness.poll(Entity.AR_CUSTOMER)
    before = {e.source_key: e.source_version for e in changes(harness.take())}
    customer = rows(harness, Entity.AR_CUSTOMER)[0]
    key = f"{customer['ARDivisionNo']}-{customer['CustomerNo']}"
    harness.side.state.clock.advance(-3600)
    with harness.control() as control:
        edit = {"ARDivisionNo": customer["ARDivisionNo"], "CustomerNo": customer["CustomerNo"]}
        written = control.post(
            "/_emulator/companies/ABC/tables/AR_Customer",
            json={"records": [edit | {"CustomerName": "Clock Went Back Ltd"}]},
        )
        assert written.status_code == 200, written.text
    await harness.poll(Entity.AR_CUSTOMER)
    assert changes(harness.take()) == []  # stamped before watermark minus overlap: unseen
    result = await harness.reconcile(Entity.AR_CUSTOMER)
    (event,) = changes(harness.take())
    assert result.refreshed == 1 and event.source_key == key
    assert event.record["CustomerName"] == "Clock Went Back Ltd"
    stamp = f"{event.record['DateUpdated']} {float(event.record['TimeUpdated']):09.6f}"
    assert stamp < before[key]  # its own stamp looks older than what went out before
    assert event.source_version > before[key]  # so the writer's stale guard lets it through


async def test_the_tax_id_stays_on_the_sage_server_unless_the_tenants_map_asks(
    harness: Harness, app_pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    assert all(row.get(SSN) for row in rows(harness, Entity.AP_VENDOR))
    started = time.time()
    await harness.poll(Entity.AP_VENDOR)
    sent = changes(harness.take())
    assert sent and all(SSN not in e.record for e in sent)
    on_kafka = await read_topic(
        kafka_bootstrap, Topics.SAGE_CHANGES, harness.tenant.tenant_id, len(sent), since=started
    )
    assert len(on_kafka) == len(sent)
    assert all(SSN not in e.model_dump_json() for e in on_kafka)

    asks = {"entities": {"ap_vendor": {"fields": {"Tax_ID": {"column": SSN}}}}}
    await app_pool.execute(
        "INSERT INTO tenant_mappings (tenant_id, source_yaml, spec) VALUES ($1, $2, $3)",
        harness.tenant.tenant_id,
        "entities: {ap_vendor: {fields: {Tax_ID: {column: TaxpayerIDSocialSecurityNo}}}}",
        asks,
    )
    # The agent now hashes the column in: every vendor reads as changed and is sent with it.
    result = await harness.reconcile(Entity.AP_VENDOR)
    refreshed = [e for e in changes(harness.take()) if isinstance(e, SageRecordChanged)]
    assert result.refreshed == len(sent) == len(refreshed)
    by_key = {
        f"{r['APDivisionNo']}-{r['VendorNo']}": r[SSN] for r in rows(harness, Entity.AP_VENDOR)
    }
    assert all(e.record[SSN] == by_key[e.source_key] for e in refreshed)


async def test_a_renumbered_customer_and_its_contacts_go_out_as_moves_not_deletes(
    harness: Harness,
) -> None:
    await harness.poll(Entity.AR_CUSTOMER)
    await harness.poll(Entity.CUSTOMER_CONTACT)
    before = {(e.entity, e.source_key): e.source_version for e in changes(harness.take())}
    customer = next(
        c
        for c in rows(harness, Entity.AR_CUSTOMER)
        if any(k["CustomerNo"] == c["CustomerNo"] for k in rows(harness, Entity.CUSTOMER_CONTACT))
    )
    old = f"{customer['ARDivisionNo']}-{customer['CustomerNo']}"
    with harness.control() as control:
        moved = control.post(
            "/_emulator/companies/ABC/tables/AR_Customer/renumber",
            json={
                "key": [customer["ARDivisionNo"], customer["CustomerNo"]],
                "new_key": ["01", "RENUM01"],
            },
        )
        assert moved.status_code == 200, moved.text
    result = await harness.reconcile(Entity.AR_CUSTOMER)
    events = harness.take()
    assert (result.renumbered, result.deleted) == (1, 0)
    assert not deletes(events)
    (event,) = changes(events)
    assert (event.source_key, event.renumbered_from, event.change) == ("01-RENUM01", old, "updated")
    assert event.source_version > before[(Entity.AR_CUSTOMER, old)]

    contacts = await harness.reconcile(Entity.CUSTOMER_CONTACT)
    moved_contacts = changes(harness.take())
    assert contacts.renumbered == len(moved_contacts) > 0 and contacts.deleted == 0
    for contact in moved_contacts:
        assert contact.source_key.startswith("01-RENUM01:")
        assert contact.renumbered_from == old + contact.source_key.removeprefix("01-RENUM01")


async def test_a_poll_that_meets_the_renumbered_key_first_moves_it_too(harness: Harness) -> None:
    await harness.poll(Entity.AP_VENDOR)
    await harness.poll(Entity.AP_VENDOR)  # a watermark exists: the next poll compares
    harness.take()
    vendor = rows(harness, Entity.AP_VENDOR)[0]
    old = f"{vendor['APDivisionNo']}-{vendor['VendorNo']}"
    with harness.control() as control:
        moved = control.post(
            "/_emulator/companies/ABC/tables/AP_Vendor/renumber",
            json={
                "key": [vendor["APDivisionNo"], vendor["VendorNo"]],
                "new_key": ["01", "0777777"],
            },
        )
        assert moved.status_code == 200, moved.text
    # The stamps are untouched but recent: the overlap re-reads the record under its new key.
    result = await harness.poll(Entity.AP_VENDOR)
    (event,) = changes(harness.take())
    assert result.renumbered == 1
    assert (event.source_key, event.renumbered_from) == ("01-0777777", old)
    reconciled = await harness.reconcile(Entity.AP_VENDOR)
    assert (reconciled.deleted, reconciled.refreshed) == (0, 0)  # the old key is not a delete
    assert harness.take() == []
