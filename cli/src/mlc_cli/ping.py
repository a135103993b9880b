"""`mlc ping <tenant>`: does each part of the tenant's setup work? A table, and the fix for each
failure. It only reads (see ping_checks); exit status 1 when anything failed."""

from __future__ import annotations

import argparse
from dataclasses import asdict

import httpx
from mlc_core.tenants import Tenant

from mlc_cli.common import add_json_flag, database, emit, table, tenant_or_exit
from mlc_cli.ping_checks import Check, sage_agent, sage_soap
from mlc_cli.ping_zoho import zoho_checks

MARK = {"ok": "ok", "fail": "FAIL", "skip": "-"}


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser(
        "ping", help="check a tenant's Sage and Zoho setup (reads only)", description=__doc__
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("--timeout", type=float, default=15.0, help="seconds per call")
    add_json_flag(cmd)
    cmd.set_defaults(handler=ping_cmd)


async def ping(tenant: Tenant, *, call_timeout: float = 15.0) -> list[Check]:
    async with httpx.AsyncClient(timeout=call_timeout) as http:
        sage = [*await sage_agent(http, tenant), *await sage_soap(http, tenant)]
        return [*sage, *await zoho_checks(http, tenant)]


def render(checks: list[Check]) -> str:
    rows = [[c.part, c.name, MARK[c.status], c.detail, c.fix] for c in checks]
    failed = sum(c.status == "fail" for c in checks)
    verdict = f"{failed} check(s) failed" if failed else "all checks passed"
    return f"{table(rows, ['PART', 'CHECK', 'RESULT', 'DETAIL', 'FIX'])}\n\n{verdict}"


async def ping_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        tenant = await tenant_or_exit(pool, keyring, args.tenant_id)
    checks = await ping(tenant, call_timeout=args.timeout)
    emit(
        args,
        {"tenant": tenant.tenant_id, "checks": [asdict(c) for c in checks]},
        lambda _: render(checks),
    )
    if any(c.status == "fail" for c in checks):
        raise SystemExit(1)
