"""Chaos tenants, wired to the emulators as a user wires a real one: an org, a grant code
exchanged at the org's accounts server (`mlc_devtools.emulated.connect_tenant`), then `mlc zoho
setup` for the contact key field."""

from __future__ import annotations

import asyncpg
import httpx
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import StackConfig
from mlc_devtools.emulated import EMULATOR_HOSTS, connect_tenant

# Settings too: `mlc zoho setup` creates Contacts.Sage_Contact_Key through the settings API.
SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL")
ENTITIES = [Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT]


async def connect(
    *, pool: asyncpg.Pool, keyring: KeyRing, stack: StackConfig, tenant_id: str, company: str
) -> None:
    await connect_tenant(
        pool=pool,
        keyring=keyring,
        stack=stack,
        tenant_id=tenant_id,
        company=company,
        scopes=SCOPES,
        entities=ENTITIES,
    )
    async with httpx.AsyncClient(timeout=60) as http:
        # The emulator's host is not a Zoho data centre: allowed here, as onboarding does (the
        # test suite's own MLC_ZOHO_ALLOWED_HOSTS hid this from its runs).
        await setup(pool, keyring, tenant_id, http=http, hosts=EMULATOR_HOSTS)
