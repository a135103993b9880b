"""`mlc zoho connect <tenant> --dc eu`: authorize the connector in the tenant's Zoho org.

Prints the authorization URL (offline access and consent, so Zoho issues a refresh token); the
user opens it, approves, and pastes the redirect URL or just its code. A code from the API
console's self-client works the same way (--self-client skips the URL). The code is exchanged at
the accounts server the redirect names (multi-DC orgs), and the refresh token is stored
encrypted with the data centre and `api_domain`. The client secret comes from
MLC_ZOHO_CLIENT_SECRET (or a prompt) when it is new; the code from MLC_ZOHO_GRANT_CODE or a prompt.
"""

from __future__ import annotations

import argparse
import sys

import httpx
from mlc_core.tenants import Tenant, ZohoConfig
from mlc_core.zoho.consent import (
    CONNECTOR_SCOPES,
    ConsentError,
    RedirectGrant,
    authorization_url,
    redirect_grant,
)
from mlc_core.zoho.errors import ZohoError
from mlc_core.zoho.oauth import ACCOUNTS_SERVERS
from mlc_ops.tenants import connect_zoho
from pydantic import SecretStr

from mlc_cli.common import add_json_flag, database, emit, secret_or_none, tenant_or_exit

DEFAULT_SCOPES = ",".join(CONNECTOR_SCOPES)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "connect",
        help="authorize in the tenant's Zoho org; stores the refresh token",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("--dc", choices=sorted(ACCOUNTS_SERVERS), help="the org's data centre")
    cmd.add_argument("--client-id", help="OAuth client id (defaults to the stored one)")
    cmd.add_argument("--accounts-url", help="overrides the data centre's accounts server")
    cmd.add_argument("--redirect-uri", help="the client's registered redirect URI")
    cmd.add_argument("--scopes", default=DEFAULT_SCOPES, help="comma-separated Zoho scopes")
    cmd.add_argument("--self-client", action="store_true", help="a self-client code; no URL")
    add_json_flag(cmd)
    cmd.set_defaults(handler=connect_cmd)


def pasted_grant(text: str, *, dc: str, configured_accounts: str) -> RedirectGrant:
    """A bare code (exchanged at the configured server), or the whole redirect URL, whose
    accounts server must be Zoho's or the one configured: the exchange sends it our secret."""
    text = text.strip()
    if "code=" not in text:
        return RedirectGrant(text, configured_accounts, None)
    try:
        return redirect_grant(text, default_dc=dc, trusted=[configured_accounts])
    except ConsentError as exc:
        raise SystemExit(f"mlc: {exc}") from exc


def _read_code(*, dc: str, configured_accounts: str) -> RedirectGrant:
    code = secret_or_none("zoho_grant_code", prompt=False)
    if code is None and sys.stdin.isatty():
        code = SecretStr(input("paste the code, or the whole URL you were redirected to: "))
    if code is None or not code.get_secret_value().strip():
        raise SystemExit("mlc: no code: paste it, or set MLC_ZOHO_GRANT_CODE")
    return pasted_grant(code.get_secret_value(), dc=dc, configured_accounts=configured_accounts)


def _zoho_config(tenant: Tenant, args: argparse.Namespace, server: str | None) -> ZohoConfig:
    dc = args.dc or tenant.config.zoho.dc
    accounts = server or args.accounts_url
    if accounts is None:
        accounts = ACCOUNTS_SERVERS[dc] if args.dc else tenant.config.zoho.accounts_url
    return ZohoConfig(
        dc=dc, accounts_url=accounts, client_id=args.client_id or tenant.config.zoho.client_id
    )


async def connect_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        tenant = await tenant_or_exit(pool, keyring, args.tenant_id)
        configured = _zoho_config(tenant, args, None)
        if not args.self_client:
            url = authorization_url(
                dc=configured.dc,
                accounts_url=configured.accounts_url,
                client_id=configured.client_id,
                scopes=args.scopes.split(","),
                redirect_uri=args.redirect_uri,
            )
            print(f"Open this URL as a Zoho CRM administrator and approve:\n\n  {url}\n")
        pasted = _read_code(dc=configured.dc, configured_accounts=configured.accounts_url)
        config = _zoho_config(tenant, args, pasted.accounts_server)
        client_secret = secret_or_none("zoho_client_secret") or tenant.secrets.zoho_client_secret
        async with httpx.AsyncClient(timeout=30) as http:
            try:
                connected = await connect_zoho(
                    pool=pool,
                    keyring=keyring,
                    http=http,
                    tenant=tenant,
                    config=config,
                    client_secret=client_secret,
                    grant=pasted,
                    redirect_uri=args.redirect_uri,
                )
            except ZohoError as exc:
                raise SystemExit(f"mlc: Zoho refused the code: {exc}") from exc
    emit(
        args,
        {"tenant": tenant.tenant_id, "dc": config.dc, "api_domain": connected.api_domain},
        lambda d: (
            f"tenant {d['tenant']}: Zoho connected ({d['dc']}, {d['api_domain']});"
            f" next: mlc ping {d['tenant']}"
        ),
    )
