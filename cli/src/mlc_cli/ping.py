"""`mlc ping <tenant>`: does each part of the tenant's setup work? A table, and the fix for each
failure. It only reads (see mlc_ops.ping); exit status 1 when anything failed."""

from __future__ import annotations

import argparse
from dataclasses import asdict

import httpx
from mapper.admin import MapCache
from mlc_ops.ping import Check, ping

from mlc_cli.common import add_json_flag, database, emit, table, tenant_or_exit

MARK = {"ok": "ok", "fail": "FAIL", "skip": "-"}


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser(
        "ping", help="check a tenant's Sage and Zoho setup (reads only)", description=__doc__
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("--timeout", type=float, default=15.0, help="seconds per call")
    add_json_flag(cmd)
    cmd.set_defaults(handler=ping_cmd)


def render(checks: list[Check]) -> str:
    rows = [[c.part, c.name, MARK[c.status], c.detail, c.fix] for c in checks]
    failed = sum(c.status == "fail" for c in checks)
    verdict = f"{failed} check(s) failed" if failed else "all checks passed"
    return f"{table(rows, ['PART', 'CHECK', 'RESULT', 'DETAIL', 'FIX'])}\n\n{verdict}"


async def ping_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        tenant = await tenant_or_exit(pool, keyring, args.tenant_id)
        tenant_map = (await MapCache(pool=pool).maps_for({tenant.tenant_id}))[tenant.tenant_id]
    async with httpx.AsyncClient(timeout=args.timeout) as http:
        checks = await ping(tenant=tenant, http=http, tenant_map=tenant_map)
    emit(
        args,
        {"tenant": tenant.tenant_id, "checks": [asdict(c) for c in checks]},
        lambda _: render(checks),
    )
    if any(c.status == "fail" for c in checks):
        raise SystemExit(1)
