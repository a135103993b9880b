"""The writer's cache of each tenant module's fields, and what a command writes: pure logic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mlc_core.contracts import ZohoLookup
from zoho_writer.org_fields import Known, OrgFields, written_names

from tests.factories import command


async def test_fields_are_read_once_per_tenant_and_module_and_again_when_asked_fresh() -> None:
    now = [0.0]
    reads: list[str] = []
    cache = OrgFields(max_age_s=300.0, clock=lambda: now[0])

    def reader(module: str) -> Callable[[], Awaitable[Known]]:
        async def read() -> Known:
            reads.append(module)
            return frozenset({"Account_Name"})

        return read

    assert await cache.names("t", "Accounts", reader("Accounts")) == frozenset({"Account_Name"})
    now[0] = 100.0
    await cache.names("t", "Accounts", reader("Accounts"))
    await cache.names("t", "Contacts", reader("Contacts"))
    assert reads == ["Accounts", "Contacts"]
    await cache.names("t", "Accounts", reader("Accounts"), max_age_s=10.0)
    assert reads == ["Accounts", "Contacts", "Accounts"]  # 100 s old: read again
    now[0] = 500.0
    await cache.names("t", "Contacts", reader("Contacts"))
    assert reads[-1] == "Contacts"


def test_a_command_writes_its_record_fields_and_its_links_top_fields() -> None:
    links = [
        ZohoLookup(path="Account_Name", module="Accounts", external_field="K", external_value="1"),
        ZohoLookup(
            path="Ordered_Items.0.Product_Name",
            module="Products",
            external_field="K",
            external_value="2",
        ),
    ]
    cmd = command(key="S1").model_copy(update={"record": {"Subject": "x"}, "lookups": links})
    assert written_names(cmd) == ["Subject", "Account_Name", "Ordered_Items"]
