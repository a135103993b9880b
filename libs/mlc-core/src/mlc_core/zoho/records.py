"""Zoho CRM records API v8: upsert in batches of up to 100 on an external key, read one
record by its external key, list a module page by page. Every call goes through `send`, the one
place an httpx failure becomes a Zoho error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from mlc_core.zoho.errors import (
    ZohoAuthError,
    ZohoError,
    ZohoModuleUnavailable,
    ZohoRateLimited,
    ZohoRequestError,
    ZohoScopeError,
    ZohoTokenInvalid,
    ZohoUnavailable,
)

MAX_RECORDS_PER_CALL = 100
MAX_PAGE = 200  # records per list call
MAX_LIST_FIELDS = 50  # Zoho's limit on `fields` per list call
API_VERSION = "v8"
CREDITS_HEADER = "X-API-CREDITS-REMAINING"


@dataclass(frozen=True)
class RecordResult:
    """Zoho's answer for one record of a write call, in input order."""

    ok: bool
    zoho_id: str | None = None
    action: str | None = None
    code: str | None = None
    field: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class WriteReply:
    """Per-record results of one write call, and the credits Zoho says are left (if it said)."""

    results: list[RecordResult]
    credits_remaining: int | None = None


def credits_remaining(response: httpx.Response) -> int | None:
    """Zoho sends X-API-CREDITS-REMAINING once half the day's credits are used (§5)."""
    raw = response.headers.get(CREDITS_HEADER)
    return int(raw) if raw is not None and raw.strip().isdigit() else None


def auth_headers(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Zoho-oauthtoken {access_token}"}


def crm_url(api_domain: str, path: str) -> str:
    return f"{api_domain.rstrip('/')}/crm/{API_VERSION}/{path}"


def record_url(api_domain: str, module: str, value: str) -> str:
    """`/{module}/{id or external value}`, the value as exactly one path segment."""
    return crm_url(api_domain, f"{module}/{path_segment(value)}")


def path_segment(value: str) -> str:
    """`value` as one URL path segment that a server decodes back to exactly `value` (RFC 3986
    §3.3): every character but the unreserved ones percent-encoded, so a Sage key holding `#`,
    `?` or `/` cannot end the path or add a segment. A value of only dots is encoded too: left
    as `.` or `..` it is a dot-segment, which HTTP clients and servers resolve away (GET
    `/Accounts/..` would read the module). An empty value names no record."""
    if not value:
        raise ZohoRequestError("an empty id or external value names no Zoho record")
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if value.strip(".") == "" else segment


async def send(
    http: httpx.AsyncClient, method: str, url: str, *, api_domain: str, **kwargs: Any
) -> httpx.Response:
    """One CRM call; a transport failure (connect, timeout, protocol) is ZohoUnavailable."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ZohoUnavailable(f"Zoho API {api_domain} unreachable: {exc!r}") from exc


async def upsert(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    records: list[dict[str, Any]],
    duplicate_check_fields: list[str],
    trigger: list[str] | None = None,
) -> WriteReply:
    if not 0 < len(records) <= MAX_RECORDS_PER_CALL:
        raise ValueError(f"upsert takes 1..{MAX_RECORDS_PER_CALL} records, got {len(records)}")
    body: dict[str, Any] = {"data": records, "duplicate_check_fields": duplicate_check_fields}
    if trigger is not None:
        body["trigger"] = trigger
    url = f"{api_domain.rstrip('/')}/crm/{API_VERSION}/{module}/upsert"
    response = await send(
        http, "POST", url, json=body, headers=auth_headers(access_token), api_domain=api_domain
    )
    results = parse_write_response(response, expected=len(records))
    return WriteReply(results, credits_remaining(response))


async def update_by_id(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    records: list[dict[str, Any]],
    trigger: list[str] | None = None,
) -> WriteReply:
    """PUT /{module}: update existing records, each naming its Zoho `id` (zoho-crm.md §3.1);
    an id Zoho does not have is a per-record INVALID_DATA."""
    if not 0 < len(records) <= MAX_RECORDS_PER_CALL:
        raise ValueError(f"update takes 1..{MAX_RECORDS_PER_CALL} records, got {len(records)}")
    body: dict[str, Any] = {"data": records}
    if trigger is not None:
        body["trigger"] = trigger
    url = crm_url(api_domain, module)
    response = await send(
        http, "PUT", url, json=body, headers=auth_headers(access_token), api_domain=api_domain
    )
    results = parse_write_response(response, expected=len(records))
    return WriteReply(results, credits_remaining(response))


async def find_by_external(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    external_field: str,
    value: str,
) -> str | None:
    """The Zoho id of the record whose external field holds `value`, or None (204)."""
    record = await get_by_external(
        http,
        api_domain=api_domain,
        access_token=access_token,
        module=module,
        external_field=external_field,
        value=value,
    )
    return None if record is None else str(record["id"])


async def get_by_external(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    external_field: str,
    value: str,
) -> dict[str, Any] | None:
    """The record whose external field holds `value` (GET with X-EXTERNAL), or None (204);
    `external_field` "id": the record with that Zoho id (a plain GET)."""
    headers = auth_headers(access_token)
    if external_field != "id":
        headers |= {"X-EXTERNAL": f"{module}.{external_field}"}
    url = record_url(api_domain, module, value)
    response = await send(http, "GET", url, headers=headers, api_domain=api_domain)
    if response.status_code == 204:
        return None
    body = json_or_none(response)
    data = body.get("data") if isinstance(body, dict) else None
    if response.status_code == 200 and isinstance(data, list) and data:
        record: dict[str, Any] = data[0]
        return record
    raise response_error(response, body)


async def list_records(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    fields: list[str],
    page_size: int = MAX_PAGE,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every record of `module`, one page (list) at a time. Past 2,000 records Zoho pages only
    with `page_token` (and refuses `page` alongside it), so the token is followed when given."""
    if not 0 < page_size <= MAX_PAGE or not 0 < len(fields) <= MAX_LIST_FIELDS:
        raise ValueError(f"list takes 1..{MAX_PAGE} a page, 1..{MAX_LIST_FIELDS} fields")
    params: dict[str, str | int] = {"fields": ",".join(fields), "per_page": page_size, "page": 1}
    url = crm_url(api_domain, module)
    while True:
        response = await send(
            http,
            "GET",
            url,
            params=params,
            headers=auth_headers(access_token),
            api_domain=api_domain,
        )
        if response.status_code == 204:
            return
        body = json_or_none(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise response_error(response, body)
        yield list(body.get("data") or [])
        info = body.get("info") or {}
        if not info.get("more_records"):
            return
        params = _next_page(params, info)


def _next_page(params: dict[str, str | int], info: dict[str, Any]) -> dict[str, str | int]:
    following = {k: v for k, v in params.items() if k != "page"}
    if info.get("next_page_token"):
        return following | {"page_token": str(info["next_page_token"])}
    return following | {"page": int(params.get("page", 1)) + 1}


async def update_one(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    record_id: str,
    values: dict[str, Any],
    trigger: list[str] | None = None,
) -> RecordResult:
    """PUT /{module}/{id}: change some fields of one existing record."""
    body: dict[str, Any] = {"data": [values]}
    if trigger is not None:
        body["trigger"] = trigger
    url = record_url(api_domain, module, record_id)
    response = await send(
        http, "PUT", url, json=body, headers=auth_headers(access_token), api_domain=api_domain
    )
    return parse_write_response(response, expected=1)[0]


async def delete_one(
    http: httpx.AsyncClient, *, api_domain: str, access_token: str, module: str, record_id: str
) -> RecordResult:
    """DELETE /{module}/{id} (to the recycle bin, as Zoho does)."""
    url = record_url(api_domain, module, record_id)
    response = await send(
        http, "DELETE", url, headers=auth_headers(access_token), api_domain=api_domain
    )
    return parse_write_response(response, expected=1)[0]


async def org_edition(http: httpx.AsyncClient, *, api_domain: str, access_token: str) -> str:
    """The org's edition (`license_details.paid_type`) from GET /crm/v8/org (ZohoCRM.org.READ)."""
    url = f"{api_domain.rstrip('/')}/crm/{API_VERSION}/org"
    response = await send(
        http, "GET", url, headers=auth_headers(access_token), api_domain=api_domain
    )
    body = json_or_none(response)
    orgs = body.get("org") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(orgs, list) or not orgs:
        raise response_error(response, body)
    return str(orgs[0].get("license_details", {}).get("paid_type") or "").lower()


def parse_write_response(response: httpx.Response, *, expected: int) -> list[RecordResult]:
    status = response.status_code
    body = json_or_none(response)
    data = body.get("data") if isinstance(body, dict) else None
    if status in (200, 201, 202, 207) or (status == 400 and isinstance(data, list)):
        if not isinstance(data, list) or len(data) != expected:
            raise ZohoError(f"Zoho write answered {status} without one result per record")
        return [record_result(item) for item in data]
    raise response_error(response, body)


def record_result(item: dict[str, Any]) -> RecordResult:
    details = item.get("details") or {}
    if item.get("status") == "success":
        return RecordResult(ok=True, zoho_id=str(details.get("id")), action=item.get("action"))
    return RecordResult(
        ok=False,
        code=item.get("code"),
        field=details.get("api_name"),
        message=_error_message(item, details),
    )


def _error_message(item: dict[str, Any], details: dict[str, Any]) -> str:
    extra = {k: v for k, v in details.items() if k in ("maximum_length", "expected_data_type")}
    return f"{item.get('message', 'error')}{' ' + str(extra) if extra else ''}"


def response_error(response: httpx.Response, body: Any) -> ZohoError:
    """The error for a whole-request failure; a 429 carries the credits Zoho says are left."""
    error = _request_error(response.status_code, body if isinstance(body, dict) else {})
    if isinstance(error, ZohoRateLimited):
        error.credits_remaining = credits_remaining(response)
    return error


def _request_error(status: int, body: dict[str, Any]) -> ZohoError:
    code = body.get("code")
    message = f"Zoho answered {status} {code or ''}: {body.get('message', '')}".strip()
    if status == 401 and code == "INVALID_TOKEN":
        return ZohoTokenInvalid(message, code=code, status=status)
    if code in ("OAUTH_SCOPE_MISMATCH", "NO_PERMISSION") or status == 403:
        return ZohoScopeError(message, code=code, status=status)
    if status == 429:
        return ZohoRateLimited(message, code=code, status=status)
    if code == "INVALID_MODULE":
        return ZohoModuleUnavailable(message, code=code, status=status)
    if status == 401:
        return ZohoAuthError(message, code=code, status=status)
    if status >= 500:
        return ZohoUnavailable(message, code=code, status=status)
    return ZohoRequestError(message, code=code, status=status)


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
