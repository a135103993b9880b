"""`mlc tenant onboard <tenant>`: the onboarding checklist, guided and resumable.

Shows each step (connected, ping green, Zoho setup done, entities chosen, first sync) with the
fix for the first one failing; when steps 1-4 are green and the tenant is still disabled, asks
(or takes --yes) to start syncing, then follows the first poll of every entity. Run it again at
any time: it reads where the tenant is and goes on from there."""

from __future__ import annotations

import argparse
import sys

import httpx
from mlc_ops import onboarding
from mlc_ops.sync import describe, wait_for_sync

from mlc_cli.common import add_json_flag, database, emit


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "onboard",
        help="the onboarding checklist; starts syncing once it is green",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("tenant_id")
    cmd.add_argument("--yes", action="store_true", help="start syncing without asking")
    cmd.add_argument("--no-wait", action="store_true", help="do not follow the first sync")
    add_json_flag(cmd)
    cmd.set_defaults(handler=onboard_cmd)


def render(found: onboarding.Checklist) -> str:
    lines = [f"tenant {found.tenant_id} onboarding:"]
    for number, step in enumerate(found.steps, start=1):
        mark = "ok " if step.done else "-- "
        lines.append(f"  {number}. [{mark}] {step.name}: {step.detail}")
        if not step.done and step.fix:
            lines.append(f"           fix: {step.fix}")
    return "\n".join(lines)


async def onboard_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring), httpx.AsyncClient(timeout=30) as http:
        found = await onboarding.checklist(
            pool=pool, keyring=keyring, http=http, tenant_id=args.tenant_id
        )
        if found.ready and not found.enabled and _confirmed(args):
            started = await onboarding.start(
                pool=pool, keyring=keyring, http=http, tenant_id=args.tenant_id
            )
            print(f"tenant {args.tenant_id} enabled; first sync requested", file=sys.stderr)
            if not args.no_wait:
                for _, request_id in started:
                    row = await wait_for_sync(pool=pool, request_id=request_id)
                    print(describe(row), file=sys.stderr)
            found = await onboarding.checklist(
                pool=pool, keyring=keyring, http=http, tenant_id=args.tenant_id
            )
    emit(args, found.as_json(), lambda _: render(found))


def _confirmed(args: argparse.Namespace) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print("steps 1-4 are green; --yes starts syncing", file=sys.stderr)
        return False
    answer = input(f"steps 1-4 are green: enable {args.tenant_id} and run its first sync? [y/N] ")
    return answer.strip().lower() in ("y", "yes")
