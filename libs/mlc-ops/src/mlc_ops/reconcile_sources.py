"""Reading both sides for `mlc reconcile`: every Sage record through the agent, every Zoho
record of the target module by its external key. Nothing here writes.

Sage: the agent's key set says which records exist now (the authority: a record deleted or
added while we read is not misreported). Their rows come in bulk from the change feed read
from the beginning (one call per 5,000 records, where fetching each key would be one call per
record); a key the feed did not return (added meanwhile) is fetched by key, and a feed row
whose key is no longer in the set is dropped.

Zoho: the list API (mlc_core.zoho.records.list_records), 200 records a call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from mlc_core.contracts import Entity, SageRecordChanged, ZohoUpsertCommand, new_id
from mlc_core.sage.agent import SageAgentClient
from mlc_core.sage.errors import SageNotFound
from mlc_core.tenants import Tenant
from mlc_core.zoho.records import MAX_LIST_FIELDS, MAX_PAGE, list_records

SAGE_PAGE = 5000
BY_ZOHO_ID = "id"
ZOHO_PAGE = MAX_PAGE

Mapper = Callable[[SageRecordChanged], Sequence[tuple[str, Any]]]
KeyOf = Callable[[dict[str, Any]], str]
VersionOf = Callable[[dict[str, Any]], str]


async def sage_records(
    client: SageAgentClient, *, company: str, entity: str, key_of: KeyOf
) -> list[dict[str, Any]]:
    """Every record in Sage now: the key set's keys, with their rows."""
    keys = await client.keys(company=company, entity=entity)
    rows: dict[str, dict[str, Any]] = {}
    for row in await _feed(client, company=company, entity=entity):
        try:
            key = key_of(row)
        except ValueError:
            continue  # a row without a usable key is not in the key set either
        if key in keys:
            rows[key] = row
    for key in sorted(keys.keys() - rows.keys()):
        try:
            rows[key] = await client.fetch(company=company, entity=entity, source_key=key)
        except SageNotFound:
            continue  # deleted since the key set was read
    return [rows[key] for key in sorted(rows)]


async def _feed(client: SageAgentClient, *, company: str, entity: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await client.changes(
            company=company, entity=entity, since=None, cursor=cursor, limit=SAGE_PAGE
        )
        rows += page.records
        if not page.next_cursor or not page.records:
            return rows
        cursor = page.next_cursor


@dataclass
class Expected:
    """What the mapper makes of the current Sage rows: each row's own record (key -> its
    command), the records it also upserts in other modules (an order's products: module ->
    external value -> (command, the row's key)), and the keys it cannot map."""

    own: dict[str, ZohoUpsertCommand] = field(default_factory=dict)
    related: dict[str, dict[str, tuple[ZohoUpsertCommand, str]]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


def expected_records(
    tenant: Tenant,
    entity: Entity,
    rows: list[dict[str, Any]],
    *,
    key_of: KeyOf,
    version_of: VersionOf,
    mapper: Mapper,
) -> Expected:
    """The commands the mapper makes of every current Sage row."""
    expected = Expected()
    for row in rows:
        try:
            key = key_of(row)
            event = SageRecordChanged(
                tenant_id=tenant.tenant_id,
                correlation_id=new_id(),
                entity=entity,
                source_key=key,
                company_code=tenant.config.sage.company_code,
                source_version=version_of(row),
                record=row,
            )
        except ValueError:
            expected.refused.append(str(row.get("CustomerNo") or row))
            continue
        produced = [e for _, e in mapper(event) if isinstance(e, ZohoUpsertCommand)]
        if not produced:
            expected.refused.append(key)
            continue
        # Parents come first (mapping.md), then the row's own record; after it, updates of
        # records Sage names by Zoho id (an invoice's deal), which are not reconciled.
        own = max(i for i, c in enumerate(produced) if c.external_field != BY_ZOHO_ID)
        expected.own[key] = produced[own]
        for parent in produced[:own]:
            by_key = expected.related.setdefault(parent.module, {})
            by_key.setdefault(parent.external_value, (parent, key))
    return expected


async def zoho_records(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    external_field: str,
    fields: list[str],
    page_size: int = MAX_PAGE,
) -> dict[str, dict[str, Any]]:
    """Every record of `module` that has an external key, by that key."""
    wanted = [external_field, *sorted(set(fields) - {external_field})][:MAX_LIST_FIELDS]
    found: dict[str, dict[str, Any]] = {}
    pages = list_records(
        http,
        api_domain=api_domain,
        access_token=access_token,
        module=module,
        fields=wanted,
        page_size=page_size,
    )
    async for page in pages:
        for record in page:
            if record.get(external_field):
                found[str(record[external_field])] = record
    return found
