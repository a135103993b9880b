"""The JSON "agent" API the on-premises agent speaks; the poller reads through it."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sage100_emulator.customers import SortKey, decode_cursor
from sage100_emulator.http_common import BadRequestError, error_response
from sage100_emulator.state import SageState

Endpoint = Callable[[Request], Awaitable[Response]]

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


def _parse_since(request: Request) -> tuple[str, float] | None:
    since_date = request.query_params.get("since_date")
    since_time = request.query_params.get("since_time")
    if since_date is None:
        if since_time is not None:
            raise BadRequestError("since_time needs since_date", "invalid_parameter")
        return None
    try:
        dt.datetime.strptime(since_date, "%Y%m%d")
    except ValueError:
        raise BadRequestError("since_date must be YYYYMMDD", "invalid_parameter") from None
    try:
        hours = float(since_time) if since_time is not None else 0.0
    except ValueError:
        raise BadRequestError("since_time must be decimal hours", "invalid_parameter") from None
    if not 0.0 <= hours < 24.0:
        raise BadRequestError("since_time must be within [0, 24)", "invalid_parameter")
    return since_date, hours


def _parse_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequestError(f"limit must be an integer 1..{MAX_LIMIT}", "invalid_parameter")
    return int(raw)


def _parse_cursor(request: Request) -> SortKey | None:
    raw = request.query_params.get("cursor")
    return decode_cursor(raw) if raw else None


class AgentApi:
    """Routes under /v1, guarded by a static bearer token."""

    def __init__(self, state: SageState, token: str) -> None:
        self._state = state
        self._token = token.encode()

    def routes(self) -> list[Route]:
        base = "/v1/companies/{company}/ar_customers"
        return [
            Route("/v1/health", self.health, methods=["GET"]),
            Route(f"{base}/changes", self._guard(self.changes), methods=["GET"]),
            Route(
                f"{base}/{{division}}/{{customer_no}}", self._guard(self.customer), methods=["GET"]
            ),
        ]

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            valid = scheme.lower() == "bearer" and hmac.compare_digest(
                token.strip().encode(), self._token
            )
            if not valid:
                return error_response(
                    401,
                    "unauthorized",
                    "missing or invalid bearer token",
                    {"WWW-Authenticate": 'Bearer realm="sage100-agent"'},
                )
            return await endpoint(request)

        return guarded

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def changes(self, request: Request) -> Response:
        """Inclusive change feed ordered by (DateUpdated, TimeUpdated, key).

        Besides records/next_cursor the body carries `server_time`, the
        server's own clock (date, decimal hours, zone), so a poller can keep
        watermarks in server time when the clocks disagree (sage100.md §4.4).
        """
        since, limit, after = _parse_since(request), _parse_limit(request), _parse_cursor(request)
        company = request.path_params["company"]
        page = self._state.changes(company, since, after, limit)
        stamp = self._state.clock.stamp()
        return JSONResponse(
            {
                "records": page.records,
                "next_cursor": page.next_cursor,
                "server_time": {
                    "date": stamp.date,
                    "time": stamp.time,
                    "tz": self._state.clock.tz_name,
                },
            }
        )

    async def customer(self, request: Request) -> Response:
        params = request.path_params
        row = self._state.get_customer(params["company"], params["division"], params["customer_no"])
        if row is None:
            return error_response(
                404,
                "not_found",
                f"no AR_Customer record {params['division']}-{params['customer_no']}",
            )
        return JSONResponse(row)
