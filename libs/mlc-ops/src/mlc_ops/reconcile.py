"""Reconcile: Sage against Zoho, record by record, for a tenant's entities. Reads both sides
and writes nothing; `fix` then re-publishes the records that differ (or are missing from
Zoho) from the audit log, with `force` set on the commands, so a record changed by hand in
Zoho is written again even though the writer's store says Zoho has that content. Sage rows are
mapped with the tenant's mapping file, exactly as the mapper maps them."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from audit.admin import ReplayFilter
from mapper.admin import MapCache, TenantMap, map_event
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.sage.agent import ENTITY_PATHS, SageAgentClient
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
    """One report per entity (default: the tenant's polled entities)."""
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    # The mapper's own cache: the tenant's stored map (overrides), or the default one.
    tenant_map = (await MapCache(pool=pool).maps_for({tenant.tenant_id}))[tenant.tenant_id]
    tokens = TokenProvider(pool=pool, keyring=keyring, http=http)
    return [
        await reconcile_entity(
            tenant, e, tokens=tokens, http=http, tenant_map=tenant_map, page_size=page_size
        )
        for e in entities or list(tenant.config.entities)
    ]


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


async def fix(
    *,
    pool: asyncpg.Pool,
    kafka_bootstrap: str,
    kafka_partitions: int,
    tenant_id: str,
    reports: list[EntityReport],
) -> int:
    """Re-publish every differing or missing record; returns how many events went out."""
    total = 0
    for report in reports:
        keys = tuple(f.key for f in report.findings if f.status in (DIFFERENT, ONLY_SAGE))
        if not keys:
            continue
        where = ReplayFilter(
            tenant_id=tenant_id, event_type="auto", entity=report.entity, source_keys=keys
        )
        result = await replay(
            pool=pool,
            kafka_bootstrap=kafka_bootstrap,
            kafka_partitions=kafka_partitions,
            where=where,
            reason="reconcile --fix",
            replay_id=uuid.uuid4(),
            force=True,
        )
        total += result.total
    return total
