"""GET /crm/v8/{module}: list with fields, paging (page, then page_token past the first 2000
records), sorting, If-Modified-Since (zoho-crm.md §3.2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from zoho_emulator.errors import ApiError
from zoho_emulator.metadata import ModuleDef
from zoho_emulator.orgs import Org
from zoho_emulator.paging import ambiguous
from zoho_emulator.records import StoredRecord

MAX_FIELDS = 50
MAX_PER_PAGE = 200
SORT_KEYS: dict[str, Callable[[StoredRecord], tuple[float, int]]] = {
    "id": lambda r: (0.0, int(r.id)),
    "Created_Time": lambda r: (r.created_time, int(r.id)),
    "Modified_Time": lambda r: (r.modified_time, int(r.id)),
}


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param": name})
    return int(raw)


@dataclass(frozen=True)
class ListQuery:
    fields: list[str]
    page: int
    per_page: int
    sort_by: str
    descending: bool
    if_modified_since: str | None
    page_token: str | None = None

    def bound_to(self, module: ModuleDef) -> tuple[object, ...]:
        """What a page token is bound to: the same listing, continued."""
        order = (self.sort_by, self.descending, self.per_page, self.if_modified_since)
        return (module.api_name, tuple(self.fields), *order)

    @classmethod
    def parse(cls, params: Mapping[str, str], if_modified_since: str | None) -> ListQuery:
        """Error codes for fields are from §3.2; the other error shapes are unconfirmed."""
        fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        if not fields:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param": "fields"},
            )
        if len(fields) > MAX_FIELDS:
            raise ApiError(400, "LIMIT_EXCEEDED", "the limit exceeded", {"limit": MAX_FIELDS})
        per_page = _int_param(params, "per_page", MAX_PER_PAGE)
        if per_page > MAX_PER_PAGE:
            details = {"param": "per_page", "limit": MAX_PER_PAGE}
            raise ApiError(400, "LIMIT_EXCEEDED", "the limit exceeded", details)
        sort_by = params.get("sort_by", "id")
        sort_order = params.get("sort_order", "desc")
        if sort_by not in SORT_KEYS or sort_order not in ("asc", "desc"):
            raise ApiError(400, "INVALID_DATA", "invalid data", {"param": "sort_by"})
        token = params.get("page_token")
        if token and "page" in params:
            raise ambiguous()
        page = _int_param(params, "page", 1)
        descending = sort_order == "desc"
        return cls(fields, page, per_page, sort_by, descending, if_modified_since, token or None)


def _since(header: str | None, org: Org) -> float | None:
    """If-Modified-Since (ISO 8601; naive = the org's zone) as an epoch."""
    if not header:
        return None
    try:
        moment = dt.datetime.fromisoformat(header.strip())
    except ValueError:
        details = {"param": "If-Modified-Since"}
        raise ApiError(400, "INVALID_DATA", "invalid data", details) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=org.zone)
    return moment.timestamp()


def list_records(org: Org, module: ModuleDef, query: ListQuery) -> Response:
    """204 for an empty module, 304 when If-Modified-Since filters everything out."""
    now = org.limits.clock.now()
    start = _start(org, module, query, now)
    records = org.store(module).all()
    if not records:
        return Response(status_code=204)
    since = _since(query.if_modified_since, org)
    if since is not None:
        # Zoho's filter is inclusive (Airbyte adds 1 s to its cursor), at 1 s precision.
        records = [r for r in records if int(r.modified_time) >= since]
        if not records:
            return Response(status_code=304)
    records.sort(key=SORT_KEYS[query.sort_by], reverse=query.descending)
    page = records[start : start + query.per_page]
    if not page:
        return Response(status_code=204)
    more = start + len(page) < len(records)
    data = [_pick(org.record_view(module, r), query.fields) for r in page]
    return JSONResponse({"data": data, "info": _info(org, module, query, start, len(page), more)})


def _start(org: Org, module: ModuleDef, query: ListQuery, now: float) -> int:
    """Where this page starts: from `page` within the discrete limit, else from the token."""
    if query.page_token:
        return org.page_tokens.offset(query.page_token, query.bound_to(module), now)
    if query.page * query.per_page > org.discrete_limit:
        raise ApiError(
            400,
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            f"You can only get the first {org.discrete_limit} records without using page_token"
            " param",
            {"limit": org.discrete_limit},
        )
    return (query.page - 1) * query.per_page


def _info(
    org: Org, module: ModuleDef, query: ListQuery, start: int, count: int, more: bool
) -> dict[str, object]:
    token, expiry = None, None
    if more:
        now = org.limits.clock.now()
        token, expires_at = org.page_tokens.issue(query.bound_to(module), start + count, now)
        expiry = org.format_time(expires_at)
    return {
        "per_page": query.per_page,
        "count": count,
        "page": start // query.per_page + 1,
        "sort_by": query.sort_by,
        "sort_order": "desc" if query.descending else "asc",
        "more_records": more,
        "next_page_token": token,
        "previous_page_token": None,
        "page_token_expiry": expiry,
        "call": False,
        "email": False,
    }


def _pick(view: dict[str, object], fields: list[str]) -> dict[str, object]:
    """Requested fields (unknown names ignored) plus the id, which is always returned."""
    return {name: view[name] for name in fields if name in view} | {"id": view["id"]}
