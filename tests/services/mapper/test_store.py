"""Tenants' mapping files in the real PostgreSQL, and the mapper's cache of them."""

from __future__ import annotations

import asyncpg
import pytest
from mapper.mapfile import MapFileError
from mapper.profile import DEFAULT_MAP
from mapper.service import to_command
from mapper.store import MapCache, load_stored, remove_map, save_map
from mlc_core.crypto import KeyRing
from mlc_core.tenants import add_tenant

from tests.factories import ManualClock, raw_event
from tests.services.mapper import rows

pytestmark = pytest.mark.integration  # the real PostgreSQL

RENAME_FAX = "entities:\n  ar_customer:\n    rename: {Fax: Fax_Number}\n"
SKIP_FAX = "entities:\n  ar_customer:\n    skip: [Fax]\n"


@pytest.fixture
async def tenant(app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str) -> str:
    await add_tenant(app_pool, keyring=keyring, tenant=rows.tenant(tenant_id))
    return tenant_id


async def test_a_bad_map_is_refused_and_nothing_is_stored(
    app_pool: asyncpg.Pool, tenant: str
) -> None:
    with pytest.raises(MapFileError, match=r"line 3: entities\.ar_customer\.skip\.0"):
        await save_map(app_pool, tenant, "entities:\n  ar_customer:\n    skip: [Account_Name]\n")
    assert await load_stored(app_pool, tenant) is None


async def test_saving_again_makes_a_new_revision(app_pool: asyncpg.Pool, tenant: str) -> None:
    assert await save_map(app_pool, tenant, RENAME_FAX) == 1
    assert await save_map(app_pool, tenant, SKIP_FAX) == 2
    stored = await load_stored(app_pool, tenant)
    assert stored is not None and stored.source_yaml == SKIP_FAX and stored.revision == 2
    assert await remove_map(app_pool, tenant) is True
    assert await load_stored(app_pool, tenant) is None


async def test_the_mapper_applies_the_stored_map_and_sees_changes_after_the_ttl(
    app_pool: asyncpg.Pool, tenant: str
) -> None:
    clock = ManualClock(1000.0)
    cache = MapCache(pool=app_pool, ttl=30, clock=clock)
    assert (await cache.maps_for({tenant, "nobody"})) == {
        tenant: DEFAULT_MAP,
        "nobody": DEFAULT_MAP,
    }
    await save_map(app_pool, tenant, RENAME_FAX)
    clock.now += 31
    maps = await cache.maps_for({tenant})
    assert "Fax_Number" in to_command(raw_event(tenant=tenant), maps[tenant]).record

    await save_map(app_pool, tenant, SKIP_FAX)
    clock.now += 10  # within the TTL: the cached map still applies
    assert "Fax_Number" in to_command(raw_event(), (await cache.maps_for({tenant}))[tenant]).record
    clock.now += 21
    record = to_command(raw_event(), (await cache.maps_for({tenant}))[tenant]).record
    assert "Fax" not in record and "Fax_Number" not in record
