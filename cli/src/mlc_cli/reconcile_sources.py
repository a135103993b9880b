"""Reading both sides for `mlc reconcile`: every Sage record through the agent, every Zoho
record of the target module by its external key. Nothing here writes.

Sage: the agent's key set says which records exist now (the authority: a record deleted or
added while we read is not misreported). Their rows come in bulk from the change feed read
from the beginning (one call per 5,000 records, where fetching each key would be one call per
record); a key the feed did not return (added meanwhile) is fetched by key, and a feed row
whose key is no longer in the set is dropped.

Zoho: the list API, 200 records a call, continued with `page_token` (past 2,000 records
`page` is refused).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx
from mlc_core.contracts import Entity, SageRecordChanged, ZohoUpsertCommand, new_id
from mlc_core.sage.agent import SageAgentClient
from mlc_core.sage.errors import SageNotFound
from mlc_core.tenants import Tenant

SAGE_PAGE = 5000
ZOHO_PAGE = 200
MAX_FIELDS = 50  # Zoho's limit on `fields` per list call

Mapper = Callable[[SageRecordChanged], Sequence[tuple[str, Any]]]
KeyOf = Callable[[dict[str, Any]], str]
VersionOf = Callable[[dict[str, Any]], str]


class ZohoReadError(RuntimeError):
    """Zoho refused a read; the message names tenant, module and Zoho's code."""


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


def expected_records(
    tenant: Tenant,
    entity: Entity,
    rows: list[dict[str, Any]],
    *,
    key_of: KeyOf,
    version_of: VersionOf,
    mapper: Mapper,
) -> tuple[dict[str, ZohoUpsertCommand], list[str]]:
    """(key -> the command the mapper makes of the current Sage row, keys it cannot map)."""
    commands: dict[str, ZohoUpsertCommand] = {}
    refused: list[str] = []
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
            refused.append(str(row.get("CustomerNo") or row))
            continue
        # the record's own upsert (a row may also produce commands for related records)
        produced = [e for _, e in mapper(event) if isinstance(e, ZohoUpsertCommand)]
        if produced:
            commands[key] = produced[0]
        else:
            refused.append(key)
    return commands, refused


async def zoho_records(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    external_field: str,
    fields: list[str],
    page_size: int = ZOHO_PAGE,
) -> dict[str, dict[str, Any]]:
    """Every record of `module` that has an external key, by that key (list API, paged)."""
    wanted = [external_field, *sorted(set(fields) - {external_field})][:MAX_FIELDS]
    url = f"{api_domain.rstrip('/')}/crm/v8/{module}"
    headers = {"Authorization": f"Zoho-oauthtoken {access_token}"}
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, str | int] = {"fields": ",".join(wanted), "per_page": page_size, "page": 1}
    while True:
        body = await _list_page(http, url, headers, params, module)
        for record in body.get("data", []):
            if record.get(external_field):
                found[str(record[external_field])] = record
        info = body.get("info") or {}
        if not info.get("more_records"):
            return found
        params = _next_page(params, info)


def _next_page(params: dict[str, str | int], info: dict[str, Any]) -> dict[str, str | int]:
    # Past 2,000 records Zoho only pages with page_token (and refuses `page` with it).
    following = {k: v for k, v in params.items() if k != "page"}
    if info.get("next_page_token"):
        return following | {"page_token": str(info["next_page_token"])}
    return following | {"page": int(params.get("page", 1)) + 1}


async def _list_page(
    http: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    params: dict[str, str | int],
    module: str,
) -> dict[str, Any]:
    response = await http.get(url, params=params, headers=headers)
    if response.status_code == 204:
        return {"data": [], "info": {"more_records": False}}
    if response.status_code != 200:
        raise ZohoReadError(
            f"Zoho {module} list answered {response.status_code}: {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


async def zoho_by_external_key(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    external_field: str,
    value: str,
) -> dict[str, Any] | None:
    """One record by external key (GET /{module}/{value} with X-EXTERNAL), or None."""
    response = await http.get(
        f"{api_domain.rstrip('/')}/crm/v8/{module}/{value}",
        headers={
            "Authorization": f"Zoho-oauthtoken {access_token}",
            "X-EXTERNAL": f"{module}.{external_field}",
        },
    )
    if response.status_code == 204:
        return None
    if response.status_code != 200:
        raise ZohoReadError(f"Zoho {module} get {value} answered {response.status_code}")
    data = response.json().get("data") or [None]
    record: dict[str, Any] | None = data[0]
    return record
