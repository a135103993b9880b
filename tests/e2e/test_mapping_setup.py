"""`mlc zoho setup` against the Zoho emulator over HTTP: custom modules and fields are created
where the edition allows it, exact instructions are printed where not, and entities an edition
cannot hold are switched off in the tenant's mapping file."""

from __future__ import annotations

import asyncpg
import httpx
from mapper.mapfile import parse_map
from mapper.service import map_event
from mapper.store import load_stored
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from mlc_core.zoho.oauth import exchange_grant_code
from mlc_devtools.devstack import DevStack
from mlc_devtools.emulated import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pydantic import SecretStr

from tests.services.mapper import rows
from tests.services.mapper.rows import event

SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL"]


async def zoho_tenant(
    pool: asyncpg.Pool,
    keyring: KeyRing,
    stack: DevStack,
    tenant_id: str,
    edition: str,
    *,
    company: str = "ABC",
    entities: list[Entity] | None = None,
) -> None:
    """A tenant wired to the emulators whose Zoho grant also covers the settings API."""
    async with httpx.AsyncClient(base_url=stack.config.zoho_url, timeout=30) as zoho:
        await zoho.post(
            "/_emulator/clients",
            json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        )
        org = {"org_id": tenant_id, "dc": "us", "edition": edition}
        assert (await zoho.post("/_emulator/orgs", json=org)).status_code == 201
        minted = await zoho.post(
            f"/_emulator/orgs/{tenant_id}/grant-codes",
            json={"client_id": DEMO_CLIENT_ID, "scopes": SCOPES},
        )
        code = minted.json()
        grant = await exchange_grant_code(
            zoho,
            accounts_url=code["accounts_server"],
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            code=code["code"],
        )
    assert grant.refresh_token is not None
    tenant = Tenant(
        tenant_id=tenant_id,
        display_name=tenant_id,
        config=TenantConfig(
            sage=SageConfig(company_code=company, agent_url=stack.config.agent_url),
            zoho=ZohoConfig(accounts_url=code["accounts_server"], client_id=DEMO_CLIENT_ID),
            entities=list(Entity) if entities is None else entities,
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr(stack.config.sage_agent_token),
            zoho_client_secret=SecretStr(DEMO_CLIENT_SECRET),
            zoho_refresh_token=SecretStr(grant.refresh_token),
        ),
    )
    await add_tenant(pool, keyring=keyring, tenant=tenant)


async def test_enterprise_org_gets_modules_and_fields_and_a_rerun_changes_nothing(
    stack: DevStack, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    await zoho_tenant(app_pool, keyring, stack, tenant_id, "enterprise")
    async with httpx.AsyncClient(timeout=60) as http:
        dry = await setup(app_pool, keyring, tenant_id, http=http, dry_run=True)
        assert "would create module Sage_GL_Accounts" in dry.done
        assert await load_stored(app_pool, tenant_id) is None  # dry run stores nothing

        first = await setup(app_pool, keyring, tenant_id, http=http)
        second = await setup(app_pool, keyring, tenant_id, http=http)
    created = set(first.done)
    for module in ("Sage_AP_Invoices", "Sage_GL_Accounts", "Sage_GL_Account_Groups"):
        assert f"created module {module}" in created
    for field in (
        "Contacts.Sage_Contact_Key",
        "Accounts.Sage_Credit_Limit",
        "Sage_GL_Accounts.Sage_GL_Account_Key",
        "Vendors.Sage_Vendor_No",
    ):
        assert f"created field {field}" in created
    assert first.warnings == [] and first.unavailable == set()
    # What the emulator's settings API cannot create comes back as exact manual steps.
    for manual in first.manual:
        assert "Setup > Customization > Modules and Fields" in manual and "API name" in manual
    assert not [line for line in second.done if line.startswith("created")]
    steps = [line.split("  (")[0] for line in first.manual]
    assert [line.split("  (")[0] for line in second.manual] == steps  # said again, if any
    stored = await load_stored(app_pool, tenant_id)
    assert stored is not None and parse_map(stored.source_yaml).settings.unavailable == []


async def test_standard_edition_switches_off_what_it_cannot_hold(
    stack: DevStack, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    await zoho_tenant(app_pool, keyring, stack, tenant_id, "standard")
    async with httpx.AsyncClient(timeout=60) as http:
        out = await setup(app_pool, keyring, tenant_id, http=http)
    assert any(w.startswith("ap_vendor: this Zoho edition has no Vendors") for w in out.warnings)
    assert {Entity.AP_VENDOR, Entity.AP_OPEN_INVOICE, Entity.SALES_ORDER} <= out.unavailable
    assert Entity.AR_CUSTOMER not in out.unavailable
    assert Entity.CUSTOMER_CONTACT not in out.unavailable
    assert any("API name Sage_GL_Accounts" in line for line in out.manual)  # no API for it
    assert "WARNING: ap_vendor" in out.text()

    stored = await load_stored(app_pool, tenant_id)
    assert stored is not None
    tenant_map = parse_map(stored.source_yaml)
    assert tenant_map.settings.invoice_module == "Sage_Invoices"
    vendor = event(Entity.AP_VENDOR, rows.vendor_row(), tenant=tenant_id)
    assert map_event(vendor, tenant_map) == []  # no error per record: switched off
    customer = event(Entity.AR_CUSTOMER, {**rows.contact_row(), "CustomerName": "A"})
    assert map_event(customer, tenant_map) != []
