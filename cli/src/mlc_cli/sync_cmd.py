"""`mlc sync <tenant> <entity> [--full | --key K]`: ask the poller to poll now, re-sync fully,
or re-sync one AR key.

The request goes into `sync_requests`; the tenant's poller loop picks it up on its next tick
(at most MLC_TENANT_REFRESH_SECONDS later), writes progress after every page and marks it done
with counts. The command waits and prints progress until then, unless --no-wait.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from typing import Any

import asyncpg
from mlc_core.contracts import Entity
from mlc_core.entities.sage import SAGE_TABLES, SourceKeyError

from mlc_cli.common import add_json_flag, database, tenant_or_exit

FINAL = ("done", "failed")


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


def mode_of(args: argparse.Namespace) -> str:
    return "key" if args.key else "full" if args.full else "poll"


async def sync_cmd(args: argparse.Namespace) -> None:
    entity = Entity(args.entity)
    if args.key:
        try:
            SAGE_TABLES[entity].key_values(args.key)
        except SourceKeyError as exc:
            raise SystemExit(f"mlc: {exc}") from exc
    async with database() as (pool, keyring):
        tenant = await tenant_or_exit(pool, keyring, args.tenant_id)
        if not tenant.enabled:
            raise SystemExit(f"mlc: tenant {tenant.tenant_id} is disabled (`mlc tenant enable`)")
        request_id = await create_request(pool, tenant.tenant_id, entity, mode_of(args), args.key)
        if args.no_wait:
            row = await request_row(pool, request_id)
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
    request_id: int = await pool.fetchval(
        "INSERT INTO sync_requests (tenant_id, entity, mode, source_key)"
        " VALUES ($1, $2, $3, $4) RETURNING request_id",
        tenant_id,
        str(entity),
        mode,
        key,
    )
    return request_id


async def request_row(pool: asyncpg.Pool, request_id: int) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT request_id, tenant_id, entity, mode, source_key, status, seen, emitted, error,"
        " requested_at, started_at, finished_at FROM sync_requests WHERE request_id = $1",
        request_id,
    )
    return dict(row) if row else {}


async def wait_for(pool: asyncpg.Pool, request_id: int, args: argparse.Namespace) -> dict[str, Any]:
    deadline, last = time.monotonic() + args.timeout, ""
    while True:
        row = await request_row(pool, request_id)
        line = describe(row)
        if not args.json and line != last:
            print(line, flush=True)
            last = line
        if row["status"] in FINAL:
            return row
        if time.monotonic() > deadline:
            raise SystemExit(f"mlc: sync request {request_id} still {row['status']}; not waiting")
        await asyncio.sleep(args.interval)


def describe(row: dict[str, Any]) -> str:
    what = f"{row['mode']} {row['entity']}" + (f" {row['source_key']}" if row["source_key"] else "")
    head = f"sync #{row['request_id']} {row['tenant_id']} {what}: {row['status']}"
    if row["status"] == "pending":
        return head + " (waiting for the poller's next tick)"
    counts = f", {row['seen']} read, {row['emitted']} emitted"
    started, finished = row["started_at"], row["finished_at"]
    if started is not None:
        end = finished or dt.datetime.now(tz=started.tzinfo)
        seconds = max((end - started).total_seconds(), 1e-3)
        counts += f" in {seconds:.1f}s ({row['seen'] / seconds:,.0f} records/s)"
    return head + counts + (f": {row['error']}" if row["error"] else "")
