"""`mlc reconcile <tenant> [--entity E] [--csv FILE] [--fix]`: Sage against Zoho, per record.

Reads both sides and writes nothing, unless `--fix`: then the records that differ (or are
missing from Zoho) are re-published from the audit log, like `mlc replay --key`, with `force`
set on the commands: a record changed by hand in Zoho is written again even though the
writer's own store says Zoho already has that content. Sage rows are mapped with the tenant's
mapping file (`mlc mapping set`), exactly as the mapper maps them.
"""

from __future__ import annotations

import argparse
import csv
import sys
import uuid
from pathlib import Path

import httpx
from audit.queries import ReplayFilter
from mapper.profile import TenantMap
from mapper.service import map_event
from mapper.store import MapCache
from mlc_core.contracts import Entity
from mlc_core.db import create_pool
from mlc_core.runtime import keyring_from
from mlc_core.sage.agent import ENTITY_PATHS, SageAgentClient
from mlc_core.settings import CommonSettings
from mlc_core.tenants import Tenant, load_tenant
from sage_poller.service import KEY_FUNCTIONS, parse_stamp
from zoho_writer.tokens import TokenProvider

from mlc_cli.reconcile_compare import DIFFERENT, ONLY_SAGE, STATUSES, EntityReport, compare
from mlc_cli.reconcile_sources import ZOHO_PAGE, expected_records, sage_records, zoho_records
from mlc_cli.replay_cmd import replay
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
    pool = await create_pool(settings.database_url.get_secret_value(), max_size=2)
    try:
        keyring = keyring_from(settings)
        tenant = await load_tenant(pool, keyring=keyring, tenant_id=args.tenant)
        entities = [Entity(args.entity)] if args.entity else list(tenant.config.entities)
        # The mapper's own cache: the tenant's stored map (overrides), or the default one.
        tenant_map = (await MapCache(pool=pool).maps_for({tenant.tenant_id}))[tenant.tenant_id]
        async with httpx.AsyncClient(timeout=60) as http:
            tokens = TokenProvider(pool=pool, keyring=keyring, http=http)
            reports = [
                await reconcile_entity(
                    tenant, e, tokens=tokens, http=http, tenant_map=tenant_map,
                    page_size=args.zoho_page_size,
                )
                for e in entities
            ]  # fmt: skip
    finally:
        await pool.close()
    print(report_text(reports, show_equal=args.all))
    if args.csv:
        write_csv(args.csv, reports)
        print(f"findings written to {args.csv}")
    if args.fix:
        await fix(settings, tenant.tenant_id, reports)


async def reconcile_entity(
    tenant: Tenant,
    entity: Entity,
    *,
    tokens: TokenProvider,
    http: httpx.AsyncClient,
    tenant_map: TenantMap,
    page_size: int = ZOHO_PAGE,
) -> EntityReport:
    report = EntityReport(entity.value)
    if entity.value not in ENTITY_PATHS or entity not in KEY_FUNCTIONS:
        report.unmappable.append(f"(the agent client cannot read {entity.value} yet)")
        return report
    agent = SageAgentClient(
        http,
        base_url=tenant.config.sage.agent_url,
        token=tenant.secrets.sage_agent_token.get_secret_value(),
    )
    key_of = KEY_FUNCTIONS[entity]
    company = tenant.config.sage.company_code
    rows = await sage_records(agent, company=company, entity=entity, key_of=key_of)
    commands, report.unmappable = expected_records(
        tenant,
        entity,
        rows,
        key_of=key_of,
        version_of=lambda row: parse_stamp(row).version,
        mapper=lambda event: map_event(event, tenant_map),
    )
    if not commands:
        return report
    sample = next(iter(commands.values()))
    token = await tokens.token(tenant)
    zoho = await zoho_records(
        http,
        api_domain=token.api_domain,
        access_token=token.value,
        module=sample.module,
        external_field=sample.external_field,
        fields=sorted({name for c in commands.values() for name in c.record}),
        page_size=page_size,
    )
    # GET returns every requested field the module has (null when empty): what no record
    # returns is missing from the module, a setup problem reported once, not per record.
    known = {name for record in zoho.values() for name in record} or None
    mapped = {name for c in commands.values() for name in c.record}
    report.missing_fields = sorted(mapped - known) if known else []
    report.findings = compare(entity.value, {k: c.record for k, c in commands.items()}, zoho, known)
    return report


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


async def fix(settings: CommonSettings, tenant_id: str, reports: list[EntityReport]) -> None:
    total = 0
    for report in reports:
        keys = tuple(f.key for f in report.findings if f.status in (DIFFERENT, ONLY_SAGE))
        if not keys:
            continue
        where = ReplayFilter(
            tenant_id=tenant_id,
            event_type="auto",
            entity=report.entity,
            source_keys=keys,
        )
        counts = await replay(
            settings, where, reason="reconcile --fix", replay_id=uuid.uuid4(), force=True
        )
        total += sum(counts.values())
    sys.stdout.write(f"--fix: re-published {total} record(s) from the audit log\n")
