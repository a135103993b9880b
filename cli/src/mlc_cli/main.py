"""`mlc`: the operator's command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mlc_core.crypto import generate_key_text
from mlc_core.db import migrate
from mlc_core.runtime import keyring_from
from mlc_core.settings import CommonSettings

from mlc_cli import tenant


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlc", description="ml-connector: Sage 100 -> Zoho CRM")
    verbs = parser.add_subparsers(dest="verb", required=True)
    db = verbs.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("migrate", help="apply pending migrations (uses MLC_DATABASE_ADMIN_URL)")
    keys = verbs.add_parser("keys", help="master keys").add_subparsers(dest="action", required=True)
    gen = keys.add_parser("generate", help="print a new key entry for MLC_MASTER_KEYS")
    gen.add_argument("--kid", default="k1")
    tenant.add_arguments(
        verbs.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True)
    )
    demo = verbs.add_parser("demo", help="run the whole stack on emulators and watch it flow")
    demo.add_argument("--customers", type=int, default=2000)
    return parser


async def dispatch(args: argparse.Namespace) -> None:
    settings = CommonSettings()
    if (args.verb, args.action if "action" in args else None) == ("db", "migrate"):
        admin = os.environ.get("MLC_DATABASE_ADMIN_URL")
        if not admin:
            raise SystemExit("mlc: set MLC_DATABASE_ADMIN_URL (the schema owner's connection)")
        applied = await migrate(admin, app_password=os.environ.get("MLC_DATABASE_APP_PASSWORD"))
        print(f"migrations applied: {', '.join(applied) or 'none pending'}")
    elif args.verb == "keys":
        print(generate_key_text(args.kid))
    elif args.verb == "tenant":
        dsn, keyring = settings.database_url.get_secret_value(), keyring_from(settings)
        await (
            tenant.add(args, dsn=dsn, keyring=keyring)
            if args.action == "add"
            else tenant.list_(dsn=dsn, keyring=keyring)
        )
    elif args.verb == "demo":
        from mlc_cli.demo import run_demo

        await run_demo(customers=args.customers)


def run() -> None:
    args = build_parser().parse_args()
    try:
        asyncio.run(dispatch(args))
    except KeyboardInterrupt:
        sys.exit(130)
