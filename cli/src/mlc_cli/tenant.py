"""`mlc tenant …`: create and list tenants; secrets come from the environment or a prompt."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import httpx
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool
from mlc_core.runtime import keyring_from
from mlc_core.settings import CommonSettings
from mlc_core.tenants import (
    SageConfig,
    Tenant,
    TenantConfig,
    TenantSecrets,
    ZohoConfig,
    add_tenant,
    list_tenants,
)
from mlc_core.zoho.oauth import ACCOUNTS_SERVERS, exchange_grant_code
from pydantic import SecretStr

SECRET_ENV = {
    "sage_agent_token": "MLC_SAGE_AGENT_TOKEN",
    "zoho_client_secret": "MLC_ZOHO_CLIENT_SECRET",
    "zoho_refresh_token": "MLC_ZOHO_REFRESH_TOKEN",
}


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = verbs.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a tenant (secrets from env vars or a prompt)")
    add.add_argument("tenant_id")
    add.add_argument("--name", help="display name (defaults to the id)")
    add.add_argument("--sage-company", required=True, help="3-character Sage company code")
    add.add_argument("--sage-agent-url", required=True)
    add.add_argument(
        "--sage-time-zone", default="UTC", help="Sage server's zone, e.g. America/Chicago"
    )
    add.add_argument("--zoho-dc", default="us", choices=sorted(ACCOUNTS_SERVERS))
    add.add_argument("--zoho-accounts-url", help="overrides the data centre's accounts server")
    add.add_argument("--zoho-client-id", required=True)
    add.add_argument("--zoho-grant-code", help="exchange this code for the refresh token")
    add.set_defaults(handler=add_cmd)
    sub.add_parser("list", help="list tenants").set_defaults(handler=list_cmd)


def _connection() -> tuple[str, KeyRing]:
    settings = CommonSettings()
    return settings.database_url.get_secret_value(), keyring_from(settings)


async def add_cmd(args: argparse.Namespace) -> None:
    dsn, keyring = _connection()
    await add(args, dsn=dsn, keyring=keyring)


async def list_cmd(args: argparse.Namespace) -> None:
    dsn, keyring = _connection()
    await list_(dsn=dsn, keyring=keyring)


def _secret(name: str, *, prompt: bool = True) -> SecretStr:
    value = os.environ.get(SECRET_ENV[name])
    if value is None and prompt and sys.stdin.isatty():
        value = getpass.getpass(f"{name.replace('_', ' ')}: ")
    if not value:
        raise SystemExit(
            f"mlc: {name} missing: set {SECRET_ENV[name]} (never pass it as an argument)"
        )
    return SecretStr(value)


async def _refresh_token(
    args: argparse.Namespace, accounts_url: str, client_secret: SecretStr
) -> SecretStr:
    if not args.zoho_grant_code:
        return _secret("zoho_refresh_token")
    async with httpx.AsyncClient(timeout=30) as http:
        grant = await exchange_grant_code(
            http,
            accounts_url=accounts_url,
            client_id=args.zoho_client_id,
            client_secret=client_secret.get_secret_value(),
            code=args.zoho_grant_code,
        )
    assert grant.refresh_token is not None
    return SecretStr(grant.refresh_token)


async def add(args: argparse.Namespace, *, dsn: str, keyring: KeyRing) -> None:
    accounts_url = args.zoho_accounts_url or ACCOUNTS_SERVERS[args.zoho_dc]
    client_secret = _secret("zoho_client_secret")
    secrets = TenantSecrets(
        sage_agent_token=_secret("sage_agent_token"),
        zoho_client_secret=client_secret,
        zoho_refresh_token=await _refresh_token(args, accounts_url, client_secret),
    )
    config = TenantConfig(
        sage=SageConfig(
            company_code=args.sage_company,
            agent_url=args.sage_agent_url,
            time_zone=args.sage_time_zone,
        ),
        zoho=ZohoConfig(dc=args.zoho_dc, accounts_url=accounts_url, client_id=args.zoho_client_id),
    )
    tenant = Tenant(
        tenant_id=args.tenant_id,
        display_name=args.name or args.tenant_id,
        config=config,
        secrets=secrets,
    )
    pool = await create_pool(dsn)
    try:
        await add_tenant(pool, keyring=keyring, tenant=tenant)
    finally:
        await pool.close()
    print(f"tenant {tenant.tenant_id} added (secrets encrypted under key {keyring.active_key_id})")


async def list_(*, dsn: str, keyring: KeyRing) -> None:
    pool = await create_pool(dsn)
    try:
        tenants = await list_tenants(pool, keyring=keyring, enabled_only=False)
    finally:
        await pool.close()
    for t in tenants:
        state = "enabled" if t.enabled else "disabled"
        print(
            f"{t.tenant_id:20} {state:9} sage={t.config.sage.company_code}"
            f"@{t.config.sage.agent_url} zoho={t.config.zoho.dc}"
        )
