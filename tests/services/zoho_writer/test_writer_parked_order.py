"""A newer version of a record whose older version is parked (waiting for its parent) waits
behind it, so the drain can never write the older version over the newer one.

Found by `make chaos`: v1 of a contact was parked for its missing account; v3 arrived, was
written at once, and a drain on another replica, whose stale-version check ran before v3's
write was recorded, then wrote v1 over it. Zoho kept v1 for good (every later replay of v3
is "unchanged" against the writer's record of what it applied).
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from mlc_core.contracts import OutcomeStatus, ZohoLookup, ZohoUpsertCommand
from mlc_core.crypto import KeyRing

from tests.factories import command
from tests.services.zoho_writer.live import (
    Emulator,
    Writer,
    emulator_url,
    new_tenant,
    writer,
    writers,
    zoho,
)

pytestmark = pytest.mark.integration
__all__ = ["emulator_url", "writer", "writers", "zoho"]
PARENT = "01-PARENT"


def contact(tenant: str, version: str, note: str) -> ZohoUpsertCommand:
    lookup = ZohoLookup(
        path="Account_Name", module="Accounts", external_field="Sage_Customer_No",
        external_value=PARENT,
    )  # fmt: skip
    return command(key="C-1", version=version, tenant=tenant).model_copy(
        update={
            "module": "Contacts",
            "external_field": "Email",
            "external_value": "ann@acme.test",
            "record": {"Last_Name": "Lee", "Email": "ann@acme.test", "Description": note},
            "lookups": [lookup],
        }
    )


async def test_a_newer_version_waits_behind_a_parked_older_one(
    writers: list[Writer], zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    live, drainer = writers[0], writers[1]
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await live.handle([contact(tenant, "20261126 10.000000", "v1")])  # parent missing: parked
    await live.handle([command(key=PARENT, tenant=tenant)], partition=1)

    await live.handle([contact(tenant, "20261126 11.000000", "v3")])

    deferred = live.publisher.outcomes(tenant, OutcomeStatus.DEFERRED)
    assert [o.source_version for o in deferred] == ["20261126 10.000000", "20261126 11.000000"]
    assert "older version of this record is parked" in (deferred[1].error_message or "")
    assert await zoho.records(tenant, "Contacts") == []  # nothing written ahead of v1
    await drainer.drain_until_empty(tenant)
    [record] = await zoho.records(tenant, "Contacts")
    assert record["Description"] == "v3"
    stale = drainer.publisher.outcomes(tenant, OutcomeStatus.SKIPPED_STALE)
    assert [o.source_version for o in stale] == ["20261126 10.000000"]


async def test_a_change_reverted_while_parked_ends_at_the_reverted_content(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """A, then B parked by a 429 pause, then A again: the last A must win. Triaged alone, the
    second A equals what Zoho holds and is skipped, and the drain then wrote B over it."""
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle([command(key="01-ABA", version="20261126 10.000000", tenant=tenant,
                                 Description="A")])  # fmt: skip
    await zoho.control("POST", "/_emulator/faults", org=tenant, status=429, calls=1)
    await writer.handle([command(key="01-ABA", version="20261126 11.000000", tenant=tenant,
                                 Description="B")])  # fmt: skip
    await asyncio.sleep(2.5)  # the pause (FAST: 0.5 s, doubled at most twice) is over

    await writer.handle([command(key="01-ABA", version="20261126 12.000000", tenant=tenant,
                                 Description="A")])  # fmt: skip

    assert not writer.publisher.outcomes(tenant, OutcomeStatus.SKIPPED_UNCHANGED)
    await writer.drain_until_empty(tenant)
    [record] = await zoho.records(tenant)
    assert record["Description"] == "A"
