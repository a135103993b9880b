"""A steady-state poll costs Sage one listing per entity and the pipeline nothing when nothing
changed; a change is read by key and emitted once (the poller through the real agent and the
emulator's BOI, on the real Kafka and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sage100_emulator.pvx_api as pvx_api
from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES
from sage_poller.service import parse_stamp

from tests.services.sage_poller.sage_harness import Harness, changes

pytestmark = pytest.mark.integration


@pytest.fixture
def boi_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every BOI method the agent calls on the emulator (it runs in this process); a listing
    (nGetResultSets) is counted under the columns it asks for too."""
    counted: Counter[str] = Counter()
    invoke = pvx_api.invoke

    def counting(obj: Any, method: str, args: tuple[Any, ...]) -> Any:
        counted[method] += 1
        if method == "nGetResultSets":
            counted["columns:" + ",".join(sorted(c.rstrip("$") for c in args[0].split(",")))] += 1
        return invoke(obj, method, args)

    monkeypatch.setattr(pvx_api, "invoke", counting)
    yield counted


async def rows_at_watermark(h: Harness, entity: Entity) -> int:
    """Rows sharing the newest stamp emitted: each poll reads these again by key."""
    mark = await h.store.watermark(h.tenant.tenant_id, entity)
    assert mark is not None
    rows = h.side.state.company("ABC").table(SAGE_TABLES[entity].table).rows()
    return sum(parse_stamp(row) == mark for row in rows)


def narrow_columns(entity: Entity) -> str:
    return ",".join(sorted({*SAGE_TABLES[entity].key_columns, "DateUpdated", "TimeUpdated"}))


async def outbox_rows(h: Harness) -> int:
    count: int = await h.store.pool.fetchval(
        "SELECT count(*) FROM poller_outbox WHERE tenant_id = $1", h.tenant.tenant_id
    )
    return count


# Sage's clock an hour behind: what it stamps is past the overlap (settled) when polled.
AN_HOUR_AGO = {"freeze_at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)}
ENTITIES = [Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT]


@pytest.mark.parametrize("side", [AN_HOUR_AGO], indirect=True)
@pytest.mark.parametrize("entity", ENTITIES)
async def test_idle_poll_is_one_narrow_listing_and_emits_nothing(
    harness: Harness, boi_calls: Counter[str], entity: Entity
) -> None:
    await harness.poll(entity)  # the initial load: the change feed
    assert changes(harness.take())
    harness.side.state.clock.advance(60)  # the overlap (60 s here) still holds the rows
    boi_calls.clear()
    for _ in range(3):
        result = await harness.poll(entity)
        assert result.emitted == 0 and result.seen > 0  # the overlap was listed, not read
    # One listing per poll, of the key and stamp columns only; nothing read by key.
    assert boi_calls["nGetResultSets"] == boi_calls["columns:" + narrow_columns(entity)] == 3
    assert not boi_calls["nGetRecord"] and not boi_calls["nSetKey"], boi_calls
    assert harness.take() == []  # nothing on Kafka, not even a poll attempt
    assert await outbox_rows(harness) == 0


@pytest.mark.parametrize("entity", list(Entity))  # a read by key hashes as the feed's record
async def test_rows_at_a_recent_watermark_are_read_again_and_emit_nothing(
    harness: Harness, boi_calls: Counter[str], entity: Entity
) -> None:
    await harness.poll(entity)
    harness.take()
    at_mark = await rows_at_watermark(harness, entity)
    boi_calls.clear()
    for _ in range(2):
        assert (await harness.poll(entity)).emitted == 0
    # A second save within the newest stamp can still come: those rows are read by key (a
    # sales order's lines too, by nGetResultSets on its key range).
    assert boi_calls["columns:" + narrow_columns(entity)] == 2, boi_calls
    assert boi_calls["nGetRecord"] == 2 * at_mark >= 2, boi_calls
    assert harness.take() == []


@pytest.mark.parametrize("side", [AN_HOUR_AGO], indirect=True)
async def test_changed_record_is_read_by_key_and_emitted_once(
    harness: Harness, boi_calls: Counter[str]
) -> None:
    await harness.poll(Entity.AR_CUSTOMER)
    harness.take()
    table = SAGE_TABLES[Entity.AR_CUSTOMER]
    row = harness.side.state.company("ABC").table(table.table).rows()[3]
    key = {column: row[column] for column in table.key_columns}
    harness.side.state.clock.advance(5)
    with harness.control() as control:
        body = {"records": [{**key, "TelephoneNo": "(555) 010-7788"}]}
        control.post("/_emulator/companies/ABC/tables/AR_Customer", json=body)
    boi_calls.clear()
    await harness.poll(Entity.AR_CUSTOMER)
    (event,) = changes(harness.take())
    assert event.source_key == table.source_key(row)
    assert event.record["TelephoneNo"] == "(555) 010-7788"
    assert boi_calls["nGetResultSets"] == 1 and boi_calls["nGetRecord"] == 1, boi_calls
    await harness.poll(Entity.AR_CUSTOMER)  # its stamp is now known: not read again
    assert harness.take() == [] and boi_calls["nGetRecord"] == 1, boi_calls


@pytest.mark.parametrize("side", [AN_HOUR_AGO], indirect=True)
async def test_rows_older_than_the_last_listing_are_not_listed_again(harness: Harness) -> None:
    await harness.poll(Entity.CUSTOMER_CONTACT)
    harness.take()
    harness.side.state.clock.advance(30)  # every row still within the 60 s overlap
    assert (await harness.poll(Entity.CUSTOMER_CONTACT)).seen > 1  # no earlier listing known
    # A listing that began after the overlap had passed saw them all: only the watermark's
    # rows are listed again.
    previous = dt.datetime.now(dt.UTC)
    result = await harness.poll(Entity.CUSTOMER_CONTACT, previous_start=previous)
    assert result.seen == await rows_at_watermark(harness, Entity.CUSTOMER_CONTACT)
    assert result.emitted == 0 and harness.take() == []


@pytest.mark.parametrize("side", [AN_HOUR_AGO], indirect=True)
async def test_a_burst_past_the_keyed_read_limit_is_read_from_the_change_feed(
    harness: Harness, boi_calls: Counter[str]
) -> None:
    await harness.poll(Entity.AR_CUSTOMER)
    harness.take()
    harness.side.state.clock.advance(5)
    burst = [{"CustomerNo": f"BURST{i:03d}", "CustomerName": f"Burst {i}"} for i in range(250)]
    with harness.control() as control:
        control.post("/_emulator/companies/ABC/ar_customers", json={"records": burst})
    boi_calls.clear()
    result = await harness.poll(Entity.AR_CUSTOMER)
    assert result.emitted == 250 == len(changes(harness.take()))
    narrow = boi_calls["columns:" + narrow_columns(Entity.AR_CUSTOMER)]
    # The listing, then one full-width scan (not 250 reads by key).
    assert narrow == 1 and boi_calls["nGetResultSets"] == 2 and not boi_calls["nGetRecord"]
