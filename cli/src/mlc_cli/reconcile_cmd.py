"""`mlc reconcile <tenant> [--entity E] [--csv FILE] [--fix]`: Sage against Zoho, per record.

Reads both sides and writes nothing, unless `--fix`: then the records that differ (or are
missing from Zoho) are re-published from the audit log, like `mlc replay --key`, written again
even where the writer's own store says Zoho already has that content (mlc_ops.reconcile).
Sage rows are mapped with the tenant's mapping file (`mlc mapping set`), as the mapper does.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import httpx
from mlc_core.contracts import Entity
from mlc_core.settings import CommonSettings
from mlc_ops.reconcile import ZOHO_PAGE, EntityReport, fix, reconcile
from mlc_ops.reconcile_compare import STATUSES

from mlc_cli.common import database
from mlc_cli.report_tables import render_table

CSV_HEADER = ["entity", "key", "status", "zoho_id", "fields"]


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser("reconcile", help="compare Sage with Zoho record by record")
    cmd.add_argument("tenant")
    cmd.add_argument("--entity", choices=[e.value for e in Entity], help="only this entity")
    cmd.add_argument("--csv", type=Path, help="also write every finding to this CSV file")
    cmd.add_argument("--all", action="store_true", help="list equal records too")
    cmd.add_argument("--fix", action="store_true", help="re-publish differing records")
    cmd.add_argument(
        "--zoho-page-size",
        type=int,
        default=ZOHO_PAGE,
        choices=range(1, ZOHO_PAGE + 1),
        metavar=f"1..{ZOHO_PAGE}",
        help=f"records per Zoho list call (default {ZOHO_PAGE}, Zoho's maximum)",
    )
    cmd.set_defaults(handler=reconcile_cmd)


async def reconcile_cmd(args: argparse.Namespace) -> None:
    settings = CommonSettings()
    entities = [Entity(args.entity)] if args.entity else None
    async with database() as (pool, keyring):
        async with httpx.AsyncClient(timeout=60) as http:
            reports = await reconcile(
                pool=pool,
                keyring=keyring,
                http=http,
                tenant_id=args.tenant,
                entities=entities,
                page_size=args.zoho_page_size,
            )
        print(report_text(reports, show_equal=args.all))
        if args.csv:
            write_csv(args.csv, reports)
            print(f"findings written to {args.csv}")
        if args.fix:
            total = await fix(
                pool=pool,
                kafka_bootstrap=settings.kafka_bootstrap,
                kafka_partitions=settings.kafka_partitions,
                tenant_id=args.tenant,
                reports=reports,
            )
            print(f"--fix: re-published {total} record(s) from the audit log")


def report_text(reports: list[EntityReport], *, show_equal: bool = False) -> str:
    counts = [[r.entity, *(str(r.counts()[s]) for s in STATUSES)] for r in reports]
    parts = [render_table(["entity", *STATUSES], counts)]
    shown = [f.as_row() for r in reports for f in r.findings if show_equal or f.status != "equal"]
    if shown:
        parts.append(render_table(CSV_HEADER, shown))
    for r in reports:
        if r.missing_fields:
            parts.append(f"{r.entity}: not in the Zoho module: {', '.join(r.missing_fields)}")
        if r.unmappable:
            parts.append(f"{r.entity}: not compared (mapper refuses): {', '.join(r.unmappable)}")
    return "\n\n".join(parts)


def write_csv(path: Path, reports: list[EntityReport]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(f.as_row() for r in reports for f in r.findings)
