"""Zoho CRM records API v8: upsert in batches of up to 100 on an external key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from mlc_core.zoho.errors import (
    ZohoAuthError,
    ZohoError,
    ZohoRateLimited,
    ZohoRequestError,
    ZohoScopeError,
    ZohoTokenInvalid,
    ZohoUnavailable,
)

MAX_RECORDS_PER_CALL = 100
API_VERSION = "v8"


@dataclass(frozen=True)
class RecordResult:
    """Zoho's answer for one record of a write call, in input order."""

    ok: bool
    zoho_id: str | None = None
    action: str | None = None
    code: str | None = None
    field: str | None = None
    message: str | None = None


async def upsert(
    http: httpx.AsyncClient,
    *,
    api_domain: str,
    access_token: str,
    module: str,
    records: list[dict[str, Any]],
    duplicate_check_fields: list[str],
    trigger: list[str] | None = None,
) -> list[RecordResult]:
    if not 0 < len(records) <= MAX_RECORDS_PER_CALL:
        raise ValueError(f"upsert takes 1..{MAX_RECORDS_PER_CALL} records, got {len(records)}")
    body: dict[str, Any] = {"data": records, "duplicate_check_fields": duplicate_check_fields}
    if trigger is not None:
        body["trigger"] = trigger
    url = f"{api_domain.rstrip('/')}/crm/{API_VERSION}/{module}/upsert"
    headers = {"Authorization": f"Zoho-oauthtoken {access_token}"}
    try:
        response = await http.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ZohoUnavailable(f"Zoho API {api_domain} unreachable: {exc!r}") from exc
    return parse_write_response(response, expected=len(records))


def parse_write_response(response: httpx.Response, *, expected: int) -> list[RecordResult]:
    status = response.status_code
    body = _json_or_none(response)
    data = body.get("data") if isinstance(body, dict) else None
    if status in (200, 201, 202, 207) or (status == 400 and isinstance(data, list)):
        if not isinstance(data, list) or len(data) != expected:
            raise ZohoError(f"Zoho write answered {status} without one result per record")
        return [_record_result(item) for item in data]
    raise _request_error(status, body if isinstance(body, dict) else {})


def _record_result(item: dict[str, Any]) -> RecordResult:
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


def _request_error(status: int, body: dict[str, Any]) -> ZohoError:
    code = body.get("code")
    message = f"Zoho answered {status} {code or ''}: {body.get('message', '')}".strip()
    if status == 401 and code == "INVALID_TOKEN":
        return ZohoTokenInvalid(message, code=code, status=status)
    if code in ("OAUTH_SCOPE_MISMATCH", "NO_PERMISSION") or status == 403:
        return ZohoScopeError(message, code=code, status=status)
    if status == 429:
        return ZohoRateLimited(message, code=code, status=status)
    if status == 401:
        return ZohoAuthError(message, code=code, status=status)
    if status >= 500:
        return ZohoUnavailable(message, code=code, status=status)
    return ZohoRequestError(message, code=code, status=status)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
