"""`mlc audit trail|failures|verify`: one record's history, what is failing now, and whether the
hash-chained log is intact."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from audit.chain import report
from audit.queries import RecordRef, failing_now, record_by_zoho_id, record_state, trail_rows
from audit.store import verify_chains
from audit.trail import TrailEntry, build_trail
from mlc_core.db import create_pool
from mlc_core.settings import CommonSettings

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


def _dsn() -> str:
    return CommonSettings().database_url.get_secret_value()


async def trail_cmd(args: argparse.Namespace) -> None:
    pool = await create_pool(_dsn())
    try:
        ref = await _resolve(pool, args)
        entries = build_trail([dict(r) for r in await trail_rows(pool, ref)])
        state = await record_state(pool, ref)
    finally:
        await pool.close()
    if not entries:
        raise SystemExit(f"mlc: no audit events for tenant {ref[0]}, {ref[1]} {ref[2]}")
    if args.json:
        print(json.dumps(trail_json(ref, state, entries), indent=2, default=str))
    else:
        print(trail_text(ref, state, entries))


async def _resolve(pool: Any, args: argparse.Namespace) -> RecordRef:
    if args.zoho_id:
        ref = await record_by_zoho_id(pool, args.tenant, args.zoho_id)
        if ref is None:
            raise SystemExit(f"mlc: tenant {args.tenant} has no record with Zoho id {args.zoho_id}")
        return ref
    if not (args.entity and args.key):
        raise SystemExit("mlc: give <entity> <key>, or --zoho-id")
    return (args.tenant, args.entity, args.key)


def trail_json(
    ref: RecordRef, state: dict[str, Any] | None, entries: list[TrailEntry]
) -> dict[str, Any]:
    return {
        "tenant_id": ref[0],
        "entity": ref[1],
        "source_key": ref[2],
        "state": state,
        "events": [e.as_json() for e in entries],
    }


def trail_text(ref: RecordRef, state: dict[str, Any] | None, entries: list[TrailEntry]) -> str:
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
    pool = await create_pool(_dsn())
    try:
        groups = await failing_now(pool, args.tenant)
    finally:
        await pool.close()
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
    pool = await create_pool(_dsn())
    try:
        checks, unchained, orphans = await verify_chains(
            pool, tenant=args.tenant, since=args.since, until=args.until
        )
    finally:
        await pool.close()
    intact, text = report(checks, unchained, orphans)
    if args.json:
        payload = {"intact": intact, "chains": [c.as_json() for c in checks]}
        print(json.dumps(payload | {"unchained": unchained, "orphan_ids": orphans}, indent=2))
    else:
        print(text)
    if not intact:
        raise SystemExit(1)
