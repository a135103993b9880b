"""`mlc audit trail|failures|verify|operators`: one record's history, what is failing now,
whether the hash-chained log is intact, and what operators did in the console."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from mlc_ops import operators
from mlc_ops.audit import Trail, failures, trail, verify

from mlc_cli.common import pool_only
from mlc_cli.report_tables import render_table


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = verbs.add_parser("audit", help="audit log").add_subparsers(dest="action", required=True)
    trail = sub.add_parser("trail", help="one record's history, oldest first")
    trail.add_argument("tenant")
    trail.add_argument("entity", nargs="?", help="e.g. ar_customer")
    trail.add_argument("key", nargs="?", help="Sage key, e.g. 01-ABF")
    trail.add_argument("--zoho-id", help="find the record by its Zoho id instead")
    trail.add_argument("--json", action="store_true", help="JSON instead of a table")
    trail.set_defaults(handler=trail_cmd)
    failures = sub.add_parser("failures", help="records failing now, grouped by reason")
    failures.add_argument("--tenant", help="only this tenant")
    failures.add_argument("--json", action="store_true", help="JSON instead of a table")
    failures.set_defaults(handler=failures_cmd)
    verify = sub.add_parser("verify", help="prove the hash-chained log intact, or name the break")
    verify.add_argument("--tenant", help="only this tenant's chain")
    verify.add_argument("--since", type=datetime.fromisoformat, help="recorded at or after (ISO)")
    verify.add_argument("--until", type=datetime.fromisoformat, help="recorded before (ISO)")
    verify.add_argument("--json", action="store_true", help="JSON instead of text")
    verify.set_defaults(handler=verify_cmd)
    ops = sub.add_parser("operators", help="what operators did in the console, newest first")
    ops.add_argument("--tenant", help="only actions on this tenant")
    ops.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    ops.add_argument("--json", action="store_true", help="JSON instead of a table")
    ops.set_defaults(handler=operators_cmd)


async def trail_cmd(args: argparse.Namespace) -> None:
    async with pool_only() as pool:
        found = await trail(
            pool=pool, tenant_id=args.tenant, entity=args.entity, key=args.key, zoho_id=args.zoho_id
        )
    if args.json:
        print(json.dumps(found.as_json(), indent=2, default=str))
    else:
        print(trail_text(found))


def trail_text(found: Trail) -> str:
    ref, state, entries = found.ref, found.state, found.entries
    head = f"tenant {ref[0]}, {ref[1]} {ref[2]}"
    if state:
        head += (
            f"\n  Zoho id {state['zoho_id'] or '-'}, source version {state['source_version']},"
            f" last outcome {state['last_outcome'] or '-'}, failures {state['failure_count']}"
        )
    rows = [
        [
            e.at.strftime("%Y-%m-%d %H:%M:%S") if e.at else "-",
            ("replay " if e.replay and e.kind != "replay" else "") + e.kind,
            e.source_version or "",
            e.summary,
        ]
        for e in entries
    ]
    return head + "\n" + render_table(["when (UTC)", "step", "version", "what"], rows)


async def failures_cmd(args: argparse.Namespace) -> None:
    async with pool_only() as pool:
        groups = await failures(pool=pool, tenant_id=args.tenant)
    if args.json:
        print(json.dumps([g.as_json() for g in groups], indent=2))
        return
    if not groups:
        print("nothing is failing")
        return
    rows = [
        [
            g.tenant_id,
            g.entity,
            g.reason,
            str(g.records),
            g.since.strftime("%Y-%m-%d %H:%M") if g.since else "-",
            ", ".join(g.sample_keys),
            (g.sample_error or "")[:80],
        ]
        for g in groups
    ]
    headers = ["tenant", "entity", "reason", "records", "since", "e.g.", "last error"]
    sys.stdout.write(render_table(headers, rows) + "\n")


async def verify_cmd(args: argparse.Namespace) -> None:
    async with pool_only() as pool:
        found = await verify(pool=pool, tenant_id=args.tenant, since=args.since, until=args.until)
    print(json.dumps(found.as_json(), indent=2) if args.json else found.text)
    if not found.intact:
        raise SystemExit(1)


async def operators_cmd(args: argparse.Namespace) -> None:
    async with pool_only() as pool:
        actions = await operators.recent(pool=pool, tenant_id=args.tenant, limit=args.limit)
    if args.json:
        print(json.dumps([a.as_json() for a in actions], indent=2))
        return
    rows = [
        [a.at.strftime("%Y-%m-%d %H:%M:%S"), a.operator, a.action, a.tenant_id or "", a.outcome]
        for a in actions
    ]
    headers = ["when (UTC)", "who", "what", "tenant", "outcome"]
    sys.stdout.write(render_table(headers, rows) + "\n")
