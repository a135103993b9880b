"""A renumbered Sage record moves its Zoho record (same id) instead of making a new one; the
writer's Zoho emulator over HTTP, real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncpg
import pytest
from mlc_core.contracts import OutcomeStatus, ZohoUpsertCommand
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
V1, V2 = "20261126 10.000000", "20261126 10.000000+20261126 10.000000"


def renumbered(tenant: str, old: str, new: str, **fields: str) -> ZohoUpsertCommand:
    moved = command(key=new, version=V2, tenant=tenant, **fields)
    return moved.model_copy(update={"renumbered_from": old})


async def test_the_record_moves_to_the_new_key_and_keeps_its_id(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle([command(key=k, version=V1, tenant=tenant) for k in ("01-A", "01-B")])
    ids = {r["Sage_Customer_No"]: r["id"] for r in await zoho.records(tenant)}
    await writer.handle(
        [
            renumbered(tenant, "01-A", "01-A2", Fax="555-0100"),
            renumbered(tenant, "01-NEVER", "01-N2"),  # Zoho never had it: the upsert creates it
        ]
    )
    after = {r["Sage_Customer_No"]: r for r in await zoho.records(tenant)}
    assert set(after) == {"01-A2", "01-B", "01-N2"}
    assert after["01-A2"]["id"] == ids["01-A"] and after["01-A2"]["Fax"] == "555-0100"
    applied = await app_pool.fetch(
        "SELECT external_value, source_version FROM writer_versions WHERE tenant_id = $1",
        tenant,
    )
    versions = {r["external_value"]: r["source_version"] for r in applied}
    assert "01-A" not in versions and versions["01-A2"] == V2  # the stale guard followed it
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    # Redelivered: already moved, nothing to move, the same record is left as it is.
    await writer.handle([renumbered(tenant, "01-A", "01-A2", Fax="555-0100")])
    assert len(await zoho.records(tenant)) == 3


async def test_records_under_both_keys_fail_for_a_person_to_merge(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle([command(key=k, version=V1, tenant=tenant) for k in ("01-A", "01-A2")])
    await writer.handle([renumbered(tenant, "01-A", "01-A2", Fax="555-0199")])
    (failed,) = writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    assert failed.error_code == "RENUMBER_CONFLICT" and "01-A" in (failed.error_message or "")
    (letter,) = writer.publisher.letters(tenant)
    assert "merge them in Zoho" in letter.error_message
    assert not any(r.get("Fax") for r in await zoho.records(tenant))  # neither touched
