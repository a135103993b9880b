"""Parent resolution and per-org concurrency: pure logic."""

from __future__ import annotations

import asyncio

from mlc_core.contracts import ZohoLookup
from zoho_writer.limiter import TenantLimiter, known_edition, slots
from zoho_writer.lookups import Resolver, set_path

from tests.factories import command


def contact(key: str, account: str, *, required: bool = True) -> object:
    lookup = ZohoLookup(
        path="Account_Name",
        module="Accounts",
        external_field="Sage_Customer_No",
        external_value=account,
        required=required,
    )
    cmd = command(key=key)
    return cmd.model_copy(update={"module": "Contacts", "lookups": [lookup]})


def test_set_path_in_fields_and_line_items() -> None:
    record = {"Subject": "SO 1", "Ordered_Items": [{"Quantity": 1}, {"Quantity": 2}]}
    filled = set_path(record, "Ordered_Items.1.Product_Name", "42")
    assert filled["Ordered_Items"][1]["Product_Name"] == {"id": "42"}
    assert "Product_Name" not in record["Ordered_Items"][1]  # the original is untouched
    assert set_path({"Account_Name": "x"}, "Account_Name", None) == {}


async def test_known_parents_resolve_without_asking_zoho_and_missing_ones_wait() -> None:
    asked: list[str] = []

    async def ask(lookup: ZohoLookup) -> str | None:
        asked.append(lookup.external_value)
        return "z-in-zoho" if lookup.external_value == "01-ZOHO" else None

    resolver = Resolver({("Accounts", "01-KNOWN"): "z-known"}, ask)
    known, in_zoho, missing, optional = (
        contact("C1", "01-KNOWN"),
        contact("C2", "01-ZOHO"),
        contact("C3", "01-NEW"),
        contact("C4", "01-NEW", required=False),
    )
    result = await resolver.resolve([known, in_zoho, missing, optional])  # type: ignore[list-item]
    ready = {c.source_key: c.record.get("Account_Name") for c in result.ready}
    assert ready == {"C1": {"id": "z-known"}, "C2": {"id": "z-in-zoho"}, "C4": None}
    assert [(c.source_key, why) for c, why in result.waiting] == [
        ("C3", "Accounts Sage_Customer_No=01-NEW")
    ]
    assert asked == ["01-ZOHO", "01-NEW"]  # required parents asked once; optional ones never


def test_org_concurrency_is_the_edition_capped_by_sub_concurrency_per_replica() -> None:
    assert [slots(e, 1) for e in ("free", "standard", "enterprise", "ultimate")] == [5, 10, 10, 10]
    assert slots("enterprise", 4) == 2 and slots("free", 8) == 1  # never none: see slots()
    assert known_edition("Zoho One") == "enterprise" and known_edition("bogus") is None
    limiter = TenantLimiter(replicas=1)
    assert limiter.gate("t", "free") is limiter.gate("t", "free")
    assert limiter.gate("t", "enterprise") is not limiter.gate("u", "enterprise")


async def test_parents_missing_from_the_store_are_asked_of_zoho_at_once_and_once_each() -> None:
    """One at a time, an org answering in 50 s would cost 50 s per parent of the batch."""
    in_flight = peak = 0
    asked: list[str] = []

    async def ask(lookup: ZohoLookup) -> str | None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        asked.append(lookup.external_value)
        return f"z-{lookup.external_value}"

    children = [contact(f"C-{i}", f"01-P{i % 5}") for i in range(20)]
    resolution = await Resolver({}, ask).resolve(children)  # type: ignore[arg-type]
    assert peak == 5 and sorted(asked) == [f"01-P{i}" for i in range(5)]
    assert len(resolution.ready) == 20 and not resolution.waiting


async def test_a_lookup_path_that_does_not_fit_the_record_refuses_that_command_only() -> None:
    async def ask(lookup: ZohoLookup) -> str | None:
        return "z-1"

    hostile = command(key="SO-1").model_copy(
        update={
            "record": {"Subject": "SO 1", "Ordered_Items": []},
            "lookups": [
                ZohoLookup(
                    path="Ordered_Items.3.Product_Name",
                    module="Products",
                    external_field="Product_Code",
                    external_value="P-1",
                )
            ],
        }
    )
    fine = contact("C-1", "01-P1")
    resolution = await Resolver({}, ask).resolve([hostile, fine])  # type: ignore[list-item]
    assert [c.source_key for c, _ in resolution.refused] == ["SO-1"]
    assert "IndexError" in resolution.refused[0][1]
    assert [c.source_key for c in resolution.ready] == ["C-1"]


async def test_a_deal_link_is_read_by_id_and_an_unknown_deal_is_a_warning() -> None:
    """A link by Zoho id (a deal) is not required but is read (an id Zoho lacks would fail
    the whole record): found, it is set; missing, the record goes without it, warned."""
    asked: list[tuple[str, str]] = []

    async def ask(lookup: ZohoLookup) -> str | None:
        asked.append((lookup.external_field, lookup.external_value))
        return lookup.external_value if lookup.external_value == "111" else None

    def order(key: str, deal: str) -> object:
        link = ZohoLookup(
            path="Deal_Name", module="Deals", external_field="id", external_value=deal,
            required=False,
        )  # fmt: skip
        cmd = command(key=key)
        record = {**cmd.record, "Deal_Name": None}
        return cmd.model_copy(
            update={"module": "Sales_Orders", "lookups": [link], "record": record}
        )

    result = await Resolver({}, ask).resolve([order("S1", "111"), order("S2", "999")])  # type: ignore[list-item]
    found, missing = result.ready
    assert found.record["Deal_Name"] == {"id": "111"} and found.warnings == []
    assert "Deal_Name" not in missing.record  # neither linked nor cleared
    [warning] = missing.warnings
    assert "999" in warning and "Deals" in warning
    assert asked == [("id", "111"), ("id", "999")]


def account(key: str) -> object:
    return command(key=key).model_copy(
        update={"module": "Accounts", "external_field": "Sage_Customer_No", "external_value": key}
    )


async def test_a_parent_on_its_way_is_never_asked_of_zoho() -> None:
    """An initial load meets contacts before their accounts: a parent in the same batch (an
    earlier wave writes it) or parked here waits without a call; so does any parent of a
    command that has not waited a few retries (`may_ask`). Each ask costs a call and a
    credit."""
    asked: list[str] = []

    async def ask(lookup: ZohoLookup) -> str | None:
        asked.append(lookup.external_value)
        return None

    batch = [account("01-BATCH"), contact("C1", "01-BATCH"), contact("C2", "01-PARKED")]
    batch += [contact("C3", "01-ELSEWHERE"), contact("C4", "01-FIRST")]
    first_seen = {"C4"}
    coming = {("Accounts", "01-PARKED")}
    resolver = Resolver({}, ask, coming=coming, may_ask=lambda c: c.source_key not in first_seen)
    result = await resolver.resolve(batch)  # type: ignore[arg-type]
    assert asked == ["01-ELSEWHERE"]
    assert [c.source_key for c in result.ready] == ["01-BATCH"]
    assert sorted(c.source_key for c, _ in result.waiting) == ["C1", "C2", "C3", "C4"]
    resolver.known[("Accounts", "01-BATCH")] = "z-batch"  # the first wave wrote it
    wave_2 = await resolver.resolve([c for c, _ in result.waiting])
    assert [c.source_key for c in wave_2.ready] == ["C1"]
    assert asked == ["01-ELSEWHERE"]  # asked once per resolver, never again in later waves
