"""`mlc tenant add|list|show|enable|disable|remove|import`: who we sync for.

Secrets come from environment variables or a no-echo prompt, never from arguments. `show` and
`--json` print which secrets are set, never their values.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import httpx
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig
from mlc_core.zoho.oauth import ACCOUNTS_SERVERS
from mlc_ops import tenants as ops
from mlc_ops.tenants import describe as describe  # kept for callers of this name
from pydantic import SecretStr, ValidationError

from mlc_cli import onboard_cmd, tenant_import

# Kept for callers of the first version of this module.
from mlc_cli.common import SECRET_ENV as SECRET_ENV
from mlc_cli.common import add_json_flag, database, emit, secret, table, tenant_or_exit


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tenant = verbs.add_parser(
        "tenant", help="tenants: add, onboard, list, show, disable, remove, import"
    )
    sub = tenant.add_subparsers(dest="action", required=True)
    _register_add(sub)
    listing = sub.add_parser("list", help="list tenants (enabled and disabled)")
    add_json_flag(listing)
    listing.set_defaults(handler=list_cmd)
    show = sub.add_parser("show", help="one tenant's settings (secret names only, no values)")
    show.add_argument("tenant_id")
    add_json_flag(show)
    show.set_defaults(handler=show_cmd)
    for action, help_text in (("disable", "stop syncing"), ("enable", "resume syncing")):
        cmd = sub.add_parser(action, help=f"{help_text} a tenant (services notice within 30 s)")
        cmd.add_argument("tenant_id")
        cmd.set_defaults(handler=enable_cmd, enabled=action == "enable")
    remove = sub.add_parser("remove", help="delete a tenant and its sync state (audit log stays)")
    remove.add_argument("tenant_id")
    remove.add_argument("--yes", action="store_true", help="confirm; nothing happens without it")
    remove.set_defaults(handler=remove_cmd)
    tenant_import.register(sub)
    onboard_cmd.register(sub)


def _register_add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = sub.add_parser(
        "add",
        help="create a tenant",
        description="Secrets from MLC_SAGE_AGENT_TOKEN, MLC_ZOHO_CLIENT_SECRET and "
        "MLC_ZOHO_REFRESH_TOKEN (or a prompt); or a self-client code (MLC_ZOHO_GRANT_CODE) "
        "is exchanged for the refresh token.",
    )
    add.add_argument("tenant_id")
    add.add_argument("--name", help="display name (defaults to the id)")
    add.add_argument("--sage-company", required=True, help="3-character Sage company code")
    add.add_argument("--sage-agent-url", required=True, help="the on-premises agent's base URL")
    add.add_argument(
        "--sage-agent-fingerprint",
        help="the agent certificate's sha256:... fingerprint (`mlc-sage-agent-tls` prints it)",
    )
    add.add_argument(
        "--sage-time-zone", default="UTC", help="Sage server's zone, e.g. America/Chicago"
    )
    add.add_argument("--zoho-dc", default="us", choices=sorted(ACCOUNTS_SERVERS))
    add.add_argument("--zoho-accounts-url", help="overrides the data centre's accounts server")
    add.add_argument("--zoho-client-id", required=True)
    add.add_argument(
        "--zoho-grant-code",
        help="a self-client code, exchanged at once (single use, expires in minutes);"
        " MLC_ZOHO_GRANT_CODE keeps it out of shell history",
    )
    add.add_argument(
        "--enable",
        action="store_true",
        help="sync at once; by default a new tenant stays disabled, writing nothing to Zoho,"
        " until `mlc tenant onboard` finds its checklist green",
    )
    add_json_flag(add)
    add.set_defaults(handler=add_cmd)


async def add_cmd(args: argparse.Namespace) -> None:
    tenant = await build_tenant(args)  # secrets and settings first: errors before connecting
    async with database() as (pool, keyring):
        await ops.add(pool=pool, keyring=keyring, tenant=tenant)
    emit(
        args,
        {
            "tenant": tenant.tenant_id,
            "created": True,
            "enabled": tenant.enabled,
            "key_id": keyring.active_key_id,
        },
        lambda d: (
            f"tenant {d['tenant']} added (secrets encrypted under key {d['key_id']})"
            + ("" if d["enabled"] else f"; next: mlc tenant onboard {d['tenant']}")
        ),
    )


async def build_tenant(args: argparse.Namespace) -> Tenant:
    accounts_url = args.zoho_accounts_url or ACCOUNTS_SERVERS[args.zoho_dc]
    client_secret = secret("zoho_client_secret")
    try:
        return Tenant(
            tenant_id=args.tenant_id,
            display_name=args.name or args.tenant_id,
            enabled=args.enable,
            config=TenantConfig(
                sage=SageConfig(
                    company_code=args.sage_company,
                    agent_url=args.sage_agent_url,
                    agent_fingerprint=args.sage_agent_fingerprint,
                    time_zone=args.sage_time_zone,
                ),
                zoho=ZohoConfig(
                    dc=args.zoho_dc, accounts_url=accounts_url, client_id=args.zoho_client_id
                ),
            ),
            secrets=TenantSecrets(
                sage_agent_token=secret("sage_agent_token"),
                zoho_client_secret=client_secret,
                zoho_refresh_token=await _refresh_token(args, accounts_url, client_secret),
            ),
        )
    except ValidationError as exc:
        raise SystemExit(f"mlc: tenant {args.tenant_id}: {_first_error(exc)}") from exc


async def _refresh_token(
    args: argparse.Namespace, accounts_url: str, client_secret: SecretStr
) -> SecretStr:
    code = args.zoho_grant_code or os.environ.get(SECRET_ENV["zoho_grant_code"])
    if not code:
        return secret("zoho_refresh_token")
    async with httpx.AsyncClient(timeout=30) as http:
        return await ops.refresh_token_from_code(
            http=http,
            accounts_url=accounts_url,
            client_id=args.zoho_client_id,
            client_secret=client_secret,
            code=code,
        )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


async def list_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        tenants = await ops.list_all(pool=pool, keyring=keyring)
    emit(args, [describe(t) for t in tenants], _list_text)


def _list_text(items: list[dict[str, Any]]) -> str:
    rows = [
        [
            t["tenant_id"],
            "enabled" if t["enabled"] else "disabled",
            f"{t['config']['sage']['company_code']}@{t['config']['sage']['agent_url']}",
            t["config"]["zoho"]["dc"],
            ",".join(t["config"]["entities"]),
        ]
        for t in items
    ]
    return table(rows, ["TENANT", "STATE", "SAGE", "ZOHO DC", "ENTITIES"]) if rows else "no tenants"


async def show_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        tenant = await tenant_or_exit(pool, keyring, args.tenant_id)
    emit(args, describe(tenant), _show_text)


def _show_text(item: dict[str, Any]) -> str:
    lines = [f"{item['tenant_id']} ({item['display_name']})", f"  enabled: {item['enabled']}"]
    for part in ("sage", "zoho"):
        for name, value in item["config"][part].items():
            lines.append(f"  {part}.{name}: {value}")
    lines.append(f"  entities: {', '.join(item['config']['entities'])}")
    cadences = item["config"].get("cadences") or {}
    lines += [f"  cadence.{entity}: {seconds}s" for entity, seconds in cadences.items()]
    lines.append(f"  secrets set: {', '.join(item['secrets_set'])}")
    return "\n".join(lines)


async def enable_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, _):
        await ops.enable(pool=pool, tenant_id=args.tenant_id, enabled=args.enabled)
    print(f"tenant {args.tenant_id} {'enabled' if args.enabled else 'disabled'}")


async def remove_cmd(args: argparse.Namespace) -> None:
    if not args.yes:
        raise SystemExit(
            f"mlc: removing {args.tenant_id} deletes its credentials and sync state;"
            " run again with --yes (or `mlc tenant disable` to pause it)"
        )
    async with database() as (pool, _):
        await ops.remove(pool=pool, tenant_id=args.tenant_id)
    print(f"tenant {args.tenant_id} removed (its audit history is kept)")
