"""`mlc sync <tenant> <entity> [--full | --key K]`: ask the poller to poll now, re-sync fully,
or re-sync one AR key.

The request is queued for the poller (mlc_ops.sync); the tenant's poller loop picks it up on
its next tick (at most MLC_TENANT_REFRESH_SECONDS later), writes progress after every page and
marks it done with counts. The command waits and prints progress until then, unless --no-wait.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import asyncpg
from mlc_core.contracts import Entity
from mlc_ops.sync import SyncRow, describe, request_sync, sync_status, wait_for_sync
from sage_poller.admin import create_sync_request, sync_request

from mlc_cli.common import add_json_flag, database


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser(
        "sync",
        help="poll a tenant's entity now, re-sync it fully, or re-sync one key",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("entity", choices=[str(e) for e in Entity])
    mode = cmd.add_mutually_exclusive_group()
    mode.add_argument(
        "--full",
        action="store_true",
        help="re-emit every record even if unchanged (the writer skips what Zoho already has)",
    )
    mode.add_argument("--key", help="one record's source_key, e.g. 01-ABF (SOAP when configured)")
    cmd.add_argument("--no-wait", action="store_true", help="queue the request and return")
    cmd.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    cmd.add_argument("--timeout", type=float, default=3600.0, help="give up waiting after (s)")
    add_json_flag(cmd)
    cmd.set_defaults(handler=sync_cmd)


async def sync_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        request_id = await request_sync(
            pool=pool,
            keyring=keyring,
            tenant_id=args.tenant_id,
            entity=Entity(args.entity),
            full=args.full,
            key=args.key,
        )
        if args.no_wait:
            row = await sync_status(pool=pool, request_id=request_id)
            print(json.dumps(row, default=str) if args.json else describe(row))
            return
        row = await wait_for(pool, request_id, args)
    if args.json:
        print(json.dumps(row, indent=2, default=str))
    if row["status"] != "done":
        raise SystemExit(f"mlc: sync request {request_id} {row['status']}: {row['error']}")


async def create_request(
    pool: asyncpg.Pool, tenant_id: str, entity: Entity, mode: str, key: str | None
) -> int:
    """Queue a request as given, without the checks `mlc sync` makes (tests drive the poller)."""
    return await create_sync_request(
        pool, tenant_id=tenant_id, entity=str(entity), mode=mode, source_key=key
    )


async def request_row(pool: asyncpg.Pool, request_id: int) -> dict[str, Any]:
    return await sync_request(pool, request_id)


async def wait_for(pool: asyncpg.Pool, request_id: int, args: argparse.Namespace) -> SyncRow:
    def show(row: SyncRow) -> None:
        if not args.json:
            print(describe(row), flush=True)

    return await wait_for_sync(
        pool=pool,
        request_id=request_id,
        give_up_after=args.timeout,
        interval=args.interval,
        on_progress=show,
    )
