"""Zoho CRM org and metadata API v8 (zoho-crm.md §4.3): the org and its edition, the modules
and fields there are, and creating custom modules and fields. Whole-request failures raise the
error tree of `mlc_core.zoho.errors`; a refused item of a create call is that item's result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from mlc_core.zoho.errors import ZohoError
from mlc_core.zoho.records import (
    RecordResult,
    auth_headers,
    credits_remaining,
    crm_url,
    json_or_none,
    record_result,
    response_error,
    send,
)


@dataclass(frozen=True)
class Org:
    company_name: str
    edition: str  # license_details.paid_type, else trial_type, lower case; "" when not said
    credits_remaining: int | None  # X-API-CREDITS-REMAINING of this answer, when Zoho sent it


@dataclass(frozen=True)
class ModuleInfo:
    api_name: str
    api_supported: bool


@dataclass(frozen=True)
class FieldInfo:
    api_name: str
    external_type: str | None  # "org" or "user" when the field is an external key, else None


async def org(http: httpx.AsyncClient, *, api_domain: str, access_token: str) -> Org:
    """GET /crm/v8/org (scope ZohoCRM.org.READ)."""
    body, response = await _get(http, api_domain, access_token, "org", "org")
    first = body["org"][0]
    licence = first.get("license_details") or {}
    edition = licence.get("paid_type") or licence.get("trial_type") or ""
    return Org(
        str(first.get("company_name") or ""), str(edition).lower(), credits_remaining(response)
    )


async def modules(
    http: httpx.AsyncClient, *, api_domain: str, access_token: str
) -> list[ModuleInfo]:
    """GET /crm/v8/settings/modules (scope ZohoCRM.settings.modules.READ)."""
    body, _ = await _get(http, api_domain, access_token, "settings/modules", "modules")
    return [
        ModuleInfo(str(m["api_name"]), bool(m.get("api_supported", True)))
        for m in body["modules"]
        if m.get("api_name")
    ]


async def fields(
    http: httpx.AsyncClient, *, api_domain: str, access_token: str, module: str
) -> list[FieldInfo]:
    """GET /crm/v8/settings/fields?module= (scope ZohoCRM.settings.fields.READ)."""
    body, _ = await _get(
        http, api_domain, access_token, "settings/fields", "fields", params={"module": module}
    )
    return [
        FieldInfo(
            str(f["api_name"]), (f.get("external") or {}).get("type") if f.get("external") else None
        )
        for f in body["fields"]
        if f.get("api_name")
    ]


async def create_modules(
    http: httpx.AsyncClient, *, api_domain: str, access_token: str, items: list[dict[str, Any]]
) -> list[RecordResult]:
    """POST /crm/v8/settings/modules: one result per item, in order."""
    return await _create(http, api_domain, access_token, "modules", {}, items)


async def create_fields(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    items: list[dict[str, Any]],
) -> list[RecordResult]:
    """POST /crm/v8/settings/fields?module=: one result per item, in order."""
    return await _create(http, api_domain, access_token, "fields", {"module": module}, items)


async def _get(
    http: httpx.AsyncClient,
    api_domain: str,
    access_token: str,
    path: str,
    key: str,
    params: dict[str, str] | None = None,
) -> tuple[dict[str, Any], httpx.Response]:
    response = await send(
        http,
        "GET",
        crm_url(api_domain, path),
        params=params,
        headers=auth_headers(access_token),
        api_domain=api_domain,
    )
    body = json_or_none(response)
    if (
        response.status_code != 200
        or not isinstance(body, dict)
        or not isinstance(body.get(key), list)
    ):
        raise response_error(response, body)
    if key == "org" and not body[key]:
        raise ZohoError("GET /crm/v8/org answered no org")
    return body, response


async def _create(
    http: httpx.AsyncClient,
    api_domain: str,
    access_token: str,
    kind: str,
    params: dict[str, str],
    items: list[dict[str, Any]],
) -> list[RecordResult]:
    response = await send(
        http,
        "POST",
        crm_url(api_domain, f"settings/{kind}"),
        params=params,
        json={kind: items},
        headers=auth_headers(access_token),
        api_domain=api_domain,
    )
    body = json_or_none(response)
    results = body.get(kind) if isinstance(body, dict) else None
    if response.status_code in (200, 201, 202, 207, 400) and isinstance(results, list):
        if len(results) != len(items):
            raise ZohoError(f"Zoho settings/{kind} answered without one result per item")
        return [record_result(r) for r in results]
    raise response_error(response, body)
