"""`mlc zoho setup <tenant>`: create the custom modules and fields the mapping needs in Zoho
(mlc_ops.zoho_setup does it; this module parses and prints)."""

from __future__ import annotations

import argparse

import httpx
from mlc_ops import zoho_setup as ops
from mlc_ops.zoho_setup import Outcome as Outcome
from mlc_ops.zoho_setup import setup as setup  # the demo and the end-to-end tests call it

from mlc_cli.common import database


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "setup",
        help="create the custom modules and fields the mapping needs in the tenant's Zoho org",
        description=ops.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("--all", action="store_true", help="prepare every entity, not only polled")
    cmd.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    cmd.set_defaults(handler=setup_cmd)


async def setup_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring), httpx.AsyncClient(timeout=60) as http:
        out = await setup(
            pool, keyring, args.tenant_id, http=http, every_entity=args.all, dry_run=args.dry_run
        )
    print(out.text())
