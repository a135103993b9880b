"""`mlc db migrate`: apply the versioned schema migrations as the schema owner."""

from __future__ import annotations

import argparse
import os

from mlc_core.db import migrate, role_passwords


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = verbs.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser(
        "migrate", help="apply pending migrations (uses MLC_DATABASE_ADMIN_URL)"
    ).set_defaults(handler=migrate_cmd)


async def migrate_cmd(args: argparse.Namespace) -> None:
    admin = os.environ.get("MLC_DATABASE_ADMIN_URL")
    if not admin:
        raise SystemExit("mlc: set MLC_DATABASE_ADMIN_URL (the schema owner's connection)")
    applied = await migrate(admin, passwords=role_passwords(os.environ))
    print(f"migrations applied: {', '.join(applied) or 'none pending'}")
