"""`mlc sage set <tenant>`: where the tenant's Sage 100 is, how to log on, what to sync, how often.

Only the options given change; the rest keeps its stored value. The agent token and the Sage
password are read from MLC_SAGE_AGENT_TOKEN / MLC_SAGE_PASSWORD when set, or prompted for with
--ask-secrets; never from arguments.
"""

from __future__ import annotations

import argparse
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mlc_core.contracts import Entity
from mlc_core.tenants import SageConfig, TenantConfig, TenantSecrets
from mlc_ops.tenants import save
from pydantic import ValidationError

from mlc_cli.common import add_json_flag, database, emit, secret_or_none, tenant_or_exit

ENTITIES = [e.value for e in Entity]


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sage = verbs.add_parser("sage", help="the tenant's Sage 100 side")
    sub = sage.add_subparsers(dest="action", required=True)
    cmd = sub.add_parser(
        "set", help="set Sage connection, logon, entities and cadences", description=__doc__
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("--company", help="Sage company code (3 characters), e.g. ABC")
    cmd.add_argument("--agent-url", help="the on-premises agent's base URL")
    cmd.add_argument(
        "--agent-fingerprint",
        help="pin the agent's certificate: the sha256:... `mlc-sage-agent-tls` printed ('' unpins)",
    )
    cmd.add_argument("--soap-url", help="Sage eBusiness Web Services (SOAP) endpoint, if used")
    cmd.add_argument("--user", help="Sage logon user (password: MLC_SAGE_PASSWORD)")
    cmd.add_argument("--time-zone", help="the Sage server's IANA zone, e.g. America/Chicago")
    cmd.add_argument(
        "--invoice-history-months",
        type=int,
        metavar="N",
        help="AR invoice history sent to Zoho: N months back (default 12; 0 all); open invoices"
        " always",
    )
    cmd.add_argument(
        "--entities", help=f"comma-separated, from: {', '.join(ENTITIES)}", type=_entities
    )
    cmd.add_argument(
        "--cadence",
        action="append",
        default=[],
        type=_cadence,
        metavar="ENTITY=SECONDS",
        help="seconds between polls of one entity (repeatable)",
    )
    cmd.add_argument(
        "--ask-secrets", action="store_true", help="prompt for the agent token and Sage password"
    )
    add_json_flag(cmd)
    cmd.set_defaults(handler=set_cmd)


def _entities(text: str) -> list[Entity]:
    try:
        return [Entity(name.strip()) for name in text.split(",") if name.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; known: {', '.join(ENTITIES)}") from exc


def _cadence(text: str) -> tuple[Entity, float]:
    name, sep, seconds = text.partition("=")
    try:
        entity, value = Entity(name.strip()), float(seconds)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ENTITY=SECONDS ({exc})") from exc
    if not sep or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: cadence must be ENTITY=SECONDS, >= 1")
    return entity, value


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(
            f"mlc: unknown time zone {name!r} (IANA name, e.g. America/Chicago)"
        ) from exc
    return name


def updated_config(config: TenantConfig, args: argparse.Namespace) -> TenantConfig:
    changes: dict[str, Any] = {
        "company_code": args.company,
        "agent_url": args.agent_url,
        "agent_fingerprint": args.agent_fingerprint,
        "soap_url": args.soap_url,
        "username": args.user,
        "time_zone": _time_zone(args.time_zone) if args.time_zone else None,
        "invoice_history_months": args.invoice_history_months,
    }
    sage = config.sage.model_dump() | {k: v for k, v in changes.items() if v is not None}
    body = config.model_dump() | {"sage": SageConfig.model_validate(sage)}
    if args.entities:
        body["entities"] = args.entities
    body["cadences"] = dict(config.cadences) | dict(args.cadence)
    return TenantConfig.model_validate(body)


def updated_secrets(secrets: TenantSecrets, *, ask: bool) -> tuple[TenantSecrets, list[str]]:
    plain, changed = secrets.plain(), []
    for name in ("sage_agent_token", "sage_password"):
        value = secret_or_none(name, prompt=ask)
        if value is not None:
            plain[name] = value.get_secret_value()
            changed.append(name)
    return TenantSecrets.model_validate(plain), changed


async def set_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        tenant = await tenant_or_exit(pool, keyring, args.tenant_id)
        try:
            config = updated_config(tenant.config, args)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise SystemExit(
                f"mlc: tenant {tenant.tenant_id}: sage {where}: {error['msg']}"
            ) from exc
        secrets, changed = updated_secrets(tenant.secrets, ask=args.ask_secrets)
        new = tenant.model_copy(update={"config": config, "secrets": secrets})
        await save(pool=pool, keyring=keyring, tenant=new)
    emit(
        args,
        {
            "tenant": new.tenant_id,
            "sage": config.sage.model_dump(),
            "secrets_changed": changed,
            "entities": config.entities,
            "cadences": config.cadences,
        },
        lambda d: (
            f"tenant {d['tenant']}: Sage settings saved"
            + (f"; updated {', '.join(d['secrets_changed'])}" if d["secrets_changed"] else "")
        ),
    )
