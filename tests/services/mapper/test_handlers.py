"""The thin handler: each event mapped with its own tenant's map; bad ones become letters."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from mapper.handlers import SwitchedOff, handle_batch
from mapper.mapfile import parse_map
from mapper.profile import DEFAULT_MAP, TenantMap
from mlc_core.contracts import DeadLetter, Entity, Envelope, ZohoUpsertCommand, encode

from tests.factories import FakeRecord, raw_event
from tests.services.mapper import rows
from tests.services.mapper.rows import event


class Collected:
    def __init__(self) -> None:
        self.items: list[tuple[str, Envelope]] = []

    async def publish_all(self, items: list[tuple[str, Envelope]]) -> None:
        self.items.extend(items)


class Maps:
    def __init__(self, maps: dict[str, TenantMap]) -> None:
        self.maps = maps
        self.asked: list[set[str]] = []

    async def maps_for(self, tenant_ids: set[str]) -> dict[str, TenantMap]:
        self.asked.append(tenant_ids)
        return {t: self.maps.get(t, DEFAULT_MAP) for t in tenant_ids}


def _record(message: Any) -> FakeRecord:
    return FakeRecord(value=encode(message), topic="mlc.sage.changes")


async def test_each_tenant_gets_its_own_map_and_bad_records_do_not_stop_good_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    renamed = parse_map("entities:\n  ar_customer:\n    rename: {Fax: Fax_Number}\n")
    maps, out = Maps({"globex": renamed}), Collected()
    batch = [
        _record(raw_event(tenant="acme")),
        _record(raw_event(tenant="globex")),
        _record(raw_event(tenant="acme", CustomerName="")),
        FakeRecord(value=b"{not json", topic="mlc.sage.changes"),
        _record(event(Entity.AP_VENDOR, rows.vendor_row(), tenant="acme")),
    ]
    with caplog.at_level(logging.ERROR):
        await handle_batch(batch, publisher=out, maps=maps)  # type: ignore[arg-type]
    assert maps.asked == [{"acme", "globex"}]  # one lookup per batch
    kinds = [type(message).__name__ for _, message in out.items]
    assert kinds == [
        "ZohoUpsertCommand",
        "ZohoUpsertCommand",
        "DeadLetter",
        "DeadLetter",
        "ZohoUpsertCommand",
    ]
    acme, globex = out.items[0][1], out.items[1][1]
    assert isinstance(acme, ZohoUpsertCommand) and "Fax" in acme.record
    assert isinstance(globex, ZohoUpsertCommand) and "Fax_Number" in globex.record
    letter = out.items[2][1]
    assert isinstance(letter, DeadLetter) and letter.field == "CustomerName"
    assert "CustomerName" in caplog.text


async def test_a_switched_off_entity_is_skipped_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    no_vendors = parse_map("settings:\n  unavailable: [ap_vendor]\n")
    out, switched_off = Collected(), SwitchedOff()
    vendors = [_record(event(Entity.AP_VENDOR, rows.vendor_row(), tenant="acme"))] * 50
    with caplog.at_level(logging.WARNING):
        await handle_batch(
            vendors,
            publisher=out,  # type: ignore[arg-type]
            maps=Maps({"acme": no_vendors}),
            switched_off=switched_off,
        )
    assert out.items == []
    warnings = [r for r in caplog.records if "switched off" in r.getMessage()]
    assert len(warnings) == 1
