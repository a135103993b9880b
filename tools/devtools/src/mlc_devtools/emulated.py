"""Wiring a tenant to the emulators, the way a user wires one to real systems.

The Zoho emulator gets an OAuth client and an org; a self-client grant code is exchanged at the
org's data-centre accounts server for the refresh token, exactly as `mlc tenant add
--zoho-grant-code` does against Zoho.
"""

from __future__ import annotations

import asyncpg
import httpx
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from mlc_core.zoho.hosts import ZohoHosts
from mlc_core.zoho.oauth import exchange_grant_code
from pydantic import SecretStr

from mlc_devtools.devstack import StackConfig

DEMO_CLIENT_ID = "1000.MLCDEMOCLIENT"
DEMO_CLIENT_SECRET = "demo-client-secret-7f3a"  # noqa: S105 - emulator-only credential

# The emulators listen on loopback: the dev tools' own grant exchanges allow that host (the
# services get it from MLC_ZOHO_ALLOWED_HOSTS, which the dev stack sets).
EMULATOR_HOSTS = ZohoHosts(allowed_hosts="127.0.0.1")


async def connect_tenant(
    *,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    stack: StackConfig,
    tenant_id: str,
    company: str = "ABC",
    dc: str = "us",
    scopes: tuple[str, ...] = ("ZohoCRM.modules.ALL",),
    entities: list[Entity] | None = None,
) -> Tenant:
    async with httpx.AsyncClient(base_url=stack.zoho_url, timeout=30) as zoho:
        await zoho.post(
            "/_emulator/clients",
            json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        )
        await zoho.post(
            "/_emulator/orgs", json={"org_id": tenant_id, "dc": dc, "edition": "enterprise"}
        )
        minted = (
            await zoho.post(
                f"/_emulator/orgs/{tenant_id}/grant-codes",
                json={"client_id": DEMO_CLIENT_ID, "scopes": list(scopes)},
            )
        ).json()
        grant = await exchange_grant_code(
            zoho,
            accounts_url=minted["accounts_server"],
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            code=minted["code"],
            hosts=EMULATOR_HOSTS,
        )
    assert grant.refresh_token is not None
    tenant = Tenant(
        tenant_id=tenant_id,
        display_name=f"{tenant_id} (emulated)",
        config=TenantConfig(
            sage=SageConfig(company_code=company, agent_url=stack.agent_url),
            zoho=ZohoConfig(
                dc=dc, accounts_url=minted["accounts_server"], client_id=DEMO_CLIENT_ID
            ),
            entities=entities or [Entity.AR_CUSTOMER],
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr(stack.sage_agent_token),
            zoho_client_secret=SecretStr(DEMO_CLIENT_SECRET),
            zoho_refresh_token=SecretStr(grant.refresh_token),
        ),
    )
    await add_tenant(pool, keyring=keyring, tenant=tenant)
    return tenant
