"""Chaos tenants, wired to the emulators as a user wires a real one: an org, a grant code
exchanged at the org's accounts server, then `mlc zoho setup` for the contact key field."""

from __future__ import annotations

import asyncpg
import httpx
from mlc_cli.devstack import StackConfig
from mlc_cli.emulated import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from mlc_cli.zoho_setup import setup
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from mlc_core.zoho.oauth import TokenGrant, exchange_grant_code
from pydantic import SecretStr

# Settings too: `mlc zoho setup` creates Contacts.Sage_Contact_Key through the settings API.
SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL"]
ENTITIES = [Entity.AR_CUSTOMER, Entity.CUSTOMER_CONTACT]


async def connect(
    *, pool: asyncpg.Pool, keyring: KeyRing, stack: StackConfig, tenant_id: str, company: str
) -> None:
    async with httpx.AsyncClient(base_url=stack.zoho_url, timeout=30) as zoho:
        client = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
        await zoho.post("/_emulator/clients", json=client)
        org = {"org_id": tenant_id, "dc": "us", "edition": "enterprise"}
        (await zoho.post("/_emulator/orgs", json=org)).raise_for_status()
        minted = await zoho.post(
            f"/_emulator/orgs/{tenant_id}/grant-codes",
            json={"client_id": DEMO_CLIENT_ID, "scopes": SCOPES},
        )
        minted.raise_for_status()
        code = minted.json()
        grant = await exchange_grant_code(
            zoho,
            accounts_url=code["accounts_server"],
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            code=code["code"],
        )
    tenant = _tenant(stack, tenant_id, company, code["accounts_server"], grant)
    await add_tenant(pool, keyring=keyring, tenant=tenant)
    async with httpx.AsyncClient(timeout=60) as http:
        await setup(pool, keyring, tenant_id, http=http)


def _tenant(
    stack: StackConfig, tenant_id: str, company: str, accounts_url: str, grant: TokenGrant
) -> Tenant:
    if grant.refresh_token is None:
        raise RuntimeError(f"tenant {tenant_id}: the emulator's grant had no refresh token")
    return Tenant(
        tenant_id=tenant_id,
        display_name=f"{tenant_id} (chaos)",
        config=TenantConfig(
            sage=SageConfig(company_code=company, agent_url=stack.agent_url),
            zoho=ZohoConfig(dc="us", accounts_url=accounts_url, client_id=DEMO_CLIENT_ID),
            entities=ENTITIES,
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr(stack.sage_agent_token),
            zoho_client_secret=SecretStr(DEMO_CLIENT_SECRET),
            zoho_refresh_token=SecretStr(grant.refresh_token),
        ),
    )
