"""Reconcile: Sage against Zoho, record by record, for a tenant's entities. Reads both sides
and writes nothing; `fix` then re-publishes the records that differ (or are missing from
Zoho) from the audit log, with `force` set on the commands, so a record changed by hand in
Zoho is written again even though the writer's store says Zoho has that content. Sage rows are
mapped with the tenant's mapping file, exactly as the mapper maps them."""

from __future__ import annotations

import uuid
from functools import partial

import asyncpg
import httpx
from audit.admin import ReplayFilter
from mapper.admin import MapCache, TenantMap, map_event
from mlc_core.contracts import Entity, ZohoUpsertCommand
from mlc_core.crypto import KeyRing
from mlc_core.sage.agent import ENTITY_PATHS, agent_for
from mlc_core.tenants import Tenant, load_tenant
from sage_poller.admin import KEY_FUNCTIONS, parse_stamp
from zoho_writer.admin import TokenProvider

from mlc_ops.reconcile_compare import DIFFERENT, ONLY_SAGE, EntityReport, compare
from mlc_ops.reconcile_sources import ZOHO_PAGE, expected_records, sage_records, zoho_records
from mlc_ops.replay import replay

__all__ = ["ZOHO_PAGE", "EntityReport", "fix", "reconcile", "reconcile_entity"]


async def reconcile(
    *,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    http: httpx.AsyncClient,
    tenant_id: str,
    entities: list[Entity] | None = None,
    page_size: int = ZOHO_PAGE,
) -> list[EntityReport]:
    """One report per entity (default: the tenant's polled entities), and one per other
    module an entity writes (`sales_order:Products`)."""
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    # The mapper's own cache: the tenant's stored map (overrides), or the default one.
    tenant_map = (await MapCache(pool=pool).maps_for({tenant.tenant_id}))[tenant.tenant_id]
    tokens = TokenProvider(pool=pool, keyring=keyring, http=http)
    reports = []
    for entity in entities or list(tenant.config.entities):
        reports += await reconcile_entity(
            tenant, entity, tokens=tokens, http=http, tenant_map=tenant_map, page_size=page_size
        )
    return reports


async def reconcile_entity(
    tenant: Tenant,
    entity: Entity,
    *,
    tokens: TokenProvider,
    http: httpx.AsyncClient,
    tenant_map: TenantMap,
    page_size: int = ZOHO_PAGE,
) -> list[EntityReport]:
    report = EntityReport(entity.value)
    if entity.value not in ENTITY_PATHS or entity not in KEY_FUNCTIONS:
        report.unmappable.append(f"(the agent client cannot read {entity.value} yet)")
        return [report]
    key_of = KEY_FUNCTIONS[entity]
    company = tenant.config.sage.company_code
    async with agent_for(tenant, http=http) as agent:  # pinned certificate when set
        rows = await sage_records(agent, company=company, entity=entity, key_of=key_of)
    expected = expected_records(
        tenant,
        entity,
        rows,
        key_of=key_of,
        version_of=lambda row: parse_stamp(row).version,
        mapper=lambda event: map_event(event, tenant_map),
    )
    report.unmappable = expected.refused
    if not expected.own:
        return [report]
    token = await tokens.token(tenant)
    read = partial(_compare_module, http, token.api_domain, token.value, page_size)
    await read(report, expected.own, whole_module=True)
    reports = [report]
    # Other modules the rows write (an order's products): each compared against the
    # records these rows make there. Other entities write them too, so what only Zoho
    # has there is not this entity's to report.
    for module, records in sorted(expected.related.items()):
        related = EntityReport(f"{entity.value}:{module}")
        related.sources = {k: source for k, (_, source) in records.items()}
        await read(related, {k: c for k, (c, _) in records.items()}, whole_module=False)
        reports.append(related)
    return reports


async def _compare_module(
    http: httpx.AsyncClient,
    api_domain: str,
    access_token: str,
    page_size: int,
    report: EntityReport,
    commands: dict[str, ZohoUpsertCommand],
    *,
    whole_module: bool,
) -> None:
    sample = next(iter(commands.values()))
    # Line items come back only from a single record's GET (zoho-crm.md §3.2): the list
    # compares the header fields.
    mapped = {n for c in commands.values() for n, v in c.record.items() if not isinstance(v, list)}
    zoho = await zoho_records(
        http,
        api_domain=api_domain,
        access_token=access_token,
        module=sample.module,
        external_field=sample.external_field,
        fields=sorted(mapped),
        page_size=page_size,
    )
    if not whole_module:
        zoho = {key: record for key, record in zoho.items() if key in commands}
    # GET returns every requested field the module has (null when empty): what no record
    # returns is missing from the module, a setup problem reported once, not per record.
    known = {name for record in zoho.values() for name in record} or None
    report.missing_fields = sorted(mapped - known) if known else []
    wanted = {k: _compared(c, mapped) for k, c in commands.items()}
    report.findings = compare(report.entity, wanted, zoho, known)


def _compared(command: ZohoUpsertCommand, mapped: set[str]) -> dict[str, object]:
    """The fields to compare: a field a lookup fills (a deal link) is set by the writer."""
    linked = {lookup.path for lookup in command.lookups}
    return {n: v for n, v in command.record.items() if n in mapped and n not in linked}


async def fix(
    *,
    pool: asyncpg.Pool,
    kafka_bootstrap: str,
    tenant_id: str,
    reports: list[EntityReport],
) -> int:
    """Re-publish every differing or missing record; returns how many events went out."""
    total = 0
    for report in reports:
        keys = [f.key for f in report.findings if f.status in (DIFFERENT, ONLY_SAGE)]
        if report.sources:  # another module's records: the rows that make them
            keys = sorted({report.sources[key] for key in keys})
        if not keys:
            continue
        entity = report.entity.split(":", 1)[0]
        where = ReplayFilter(
            tenant_id=tenant_id, event_type="auto", entity=entity, source_keys=tuple(keys)
        )
        result = await replay(
            pool=pool,
            kafka_bootstrap=kafka_bootstrap,
            where=where,
            reason="reconcile --fix",
            replay_id=uuid.uuid4(),
            force=True,
        )
        total += result.total
    return total
