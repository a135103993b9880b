"""The agent's HTTPS JSON API (docs/sage-entities.md lists it); bearer token on every route
but /v1/health. Sage logon: the agent's configured service user, or per request the
X-Sage-User / X-Sage-Password headers (Sage expects stateless, per-call credentials)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from mlc_core.contracts import Entity
from mlc_core.entities.sage import (
    SAGE_TABLES_BY_PATH,
    SageTable,
    SourceKeyError,
    record_digest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sage_agent.boi import (
    BoiCallError,
    BoiError,
    BoiLocked,
    BoiLogonError,
    BoiNotFound,
    BoiUnavailable,
)
from sage_agent.feed import (
    DEFAULT_PAGE_BYTES,
    CursorError,
    SnapshotCache,
    decode_cursor,
    key_snapshot,
    page,
    page_json,
    snapshot,
    stamp_listing,
)
from sage_agent.pool import Logon
from sage_agent.reader import SageReader

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_LIMIT = 5000
# A stamp listing row is a key and two stamps (about 60 bytes of JSON): 50,000 of them cover a
# day's import on a large table at about 3 MB, where 5000 whole records would be far more.
MAX_STAMPS = 50_000


class BadRequest(ValueError):
    pass


def json_response(body: object, status: int = 200) -> Response:
    # ASCII escapes: a record's text is never invalid UTF-8 on the wire, whatever Sage held.
    return Response(json.dumps(body, ensure_ascii=True), status, media_type="application/json")


def error(status: int, code: str, message: str) -> Response:
    return json_response({"error": code, "message": message}, status)


ERRORS: list[tuple[type[Exception], int, str]] = [
    (BoiLocked, 423, "record_busy"),
    (BoiNotFound, 404, "not_found"),
    (BoiLogonError, 403, "sage_logon"),
    (BoiUnavailable, 503, "sage_unavailable"),
    (BoiCallError, 500, "boi_call_rejected"),
    (BoiError, 502, "sage_error"),
    (SourceKeyError, 400, "bad_key"),
    (CursorError, 400, "bad_cursor"),
    (BadRequest, 400, "bad_request"),
]


class AgentApi:
    def __init__(
        self,
        reader: SageReader,
        *,
        token: str,
        companies: frozenset[str] | None,
        default_logon: tuple[str, str],
        cache: SnapshotCache,
        page_bytes: int = DEFAULT_PAGE_BYTES,
    ) -> None:
        if not token.strip():
            raise ValueError("the agent's token must not be empty")
        self._reader, self._token, self._cache = reader, token.encode(), cache
        self._companies = companies  # None: every company
        self._default_user, self._default_password = default_logon
        self._page_bytes = page_bytes

    def app(self, *, on_shutdown: Callable[[], Awaitable[None]] | None = None) -> Starlette:
        base = "/v1/companies/{company}/{path}"
        routes = [
            Route("/v1/health", self.health),
            Route(f"{base}/changes", self._guard(self.changes)),
            Route(f"{base}/stamps", self._guard(self.stamps)),
            Route(f"{base}/keys", self._guard(self.keys)),
            Route(f"{base}/records/{{key:path}}", self._guard(self.record)),
        ]

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            if on_shutdown is not None:
                await on_shutdown()

        return Starlette(routes=routes, lifespan=lifespan)

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), self._token):
                return error(401, "unauthorized", "missing or invalid bearer token")
            company = request.path_params["company"].upper()
            if self._companies is not None and company not in self._companies:
                message = f"this agent's token is not scoped to company {company}"
                return error(403, "company_not_allowed", message)
            if request.path_params["path"] not in SAGE_TABLES_BY_PATH:
                return error(404, "unknown_entity", f"no entity {request.path_params['path']!r}")
            try:
                return await endpoint(request)
            except Exception as exc:
                for cls, status, code in ERRORS:
                    if isinstance(exc, cls):
                        return error(status, code, str(exc))
                raise

        return guarded

    def _logon(self, request: Request) -> Logon:
        user = request.headers.get("x-sage-user") or self._default_user
        password = request.headers.get("x-sage-password") or self._default_password
        return Logon(request.path_params["company"].upper(), user, password)

    async def health(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def changes(self, request: Request) -> Response:
        spec = SAGE_TABLES_BY_PATH[request.path_params["path"]]
        since, limit = _since(request), _limit(request)
        raw_cursor = request.query_params.get("cursor")
        logon = self._logon(request)
        cache_key = (logon.company, str(spec.entity), logon.user)
        snap = self._cache.get(cache_key) if raw_cursor else None
        if snap is None or snap.since != since:
            scan = await self._reader.scan(logon, spec.entity, since[0] if since else None)
            snap = snapshot(spec, scan, since)
            self._cache.put(cache_key, snap)
        after = decode_cursor(raw_cursor) if raw_cursor else None
        include = _include(request, spec)
        parts, cursor = page_json(
            snap, after, limit, self._page_bytes, shape=lambda r: spec.withheld(r, include)
        )
        now = dt.datetime.now().astimezone()
        server_time = {"date": now.strftime("%Y%m%d"), "tz": str(now.tzinfo)}
        rest = json.dumps({"next_cursor": cursor, "server_time": server_time}, ensure_ascii=True)
        # The records' JSON as page_json rendered it, each record encoded once.
        body = '{"records": [' + ",".join(parts) + "], " + rest[1:]
        return Response(body, 200, media_type="application/json")

    async def stamps(self, request: Request) -> Response:
        """Key and stamps of the rows changed since `since` (one narrow listing, no paging):
        what an incremental poll compares with what it already sent, reading in full only the
        records it lacks. `complete` false: more than `limit` rows, read the change feed."""
        spec = SAGE_TABLES_BY_PATH[request.path_params["path"]]
        since = _since(request)
        if since is None:
            raise BadRequest("stamps needs since_date (a full read is the change feed's)")
        scan = await self._reader.stamps(self._logon(request), spec.entity, since[0])
        limit = _limit(request, default=MAX_STAMPS, most=MAX_STAMPS)
        listed, complete = stamp_listing(spec, scan, since, limit)
        return json_response({"stamps": listed, "complete": complete})

    async def keys(self, request: Request) -> Response:
        """The key set for reconciliation, in pages ordered by source_key: one table scan per
        listing (kept as a snapshot for the later pages), at most `limit` keys per answer."""
        spec = SAGE_TABLES_BY_PATH[request.path_params["path"]]
        limit = _limit(request, default=MAX_LIMIT)
        raw_cursor = request.query_params.get("cursor")
        logon = self._logon(request)
        cache_key = (logon.company, f"{spec.entity}/keys", logon.user)
        snap = self._cache.get(cache_key) if raw_cursor else None
        if snap is None:
            scan = await self._reader.scan(logon, spec.entity, None)
            snap = key_snapshot(spec, scan)
            self._cache.put(cache_key, snap)
        chosen, cursor = page(snap, decode_cursor(raw_cursor) if raw_cursor else None, limit)
        include = _include(request, spec)
        # Hashed as /changes sends them, so the poller's digests of what it received match.
        keys = [
            {"key": spec.source_key(r), "hash": record_digest(spec.withheld(r, include)).hex()}
            for r in chosen
        ]
        return json_response({"keys": keys, "next_cursor": cursor})

    async def record(self, request: Request) -> Response:
        spec = SAGE_TABLES_BY_PATH[request.path_params["path"]]
        key = spec.key_values(request.path_params["key"])
        found: dict[str, Any] = await self._reader.fetch(
            self._logon(request), Entity(spec.entity), key
        )
        return json_response(spec.withheld(found, _include(request, spec)))


def _include(request: Request, spec: SageTable) -> frozenset[str]:
    """`include=A,B`: sensitive columns the tenant's map asks for; every other sensitive
    column (SageTable.sensitive) never leaves this server."""
    raw = request.query_params.get("include", "")
    asked = frozenset(name for name in raw.split(",") if name)
    unknown = sorted(asked - spec.sensitive)
    if unknown:
        allowed = ", ".join(sorted(spec.sensitive)) or "none"
        raise BadRequest(
            f"include: {', '.join(unknown)} is not a sensitive column of {spec.table}"
            f" (those are: {allowed})"
        )
    return asked


def _since(request: Request) -> tuple[str, float] | None:
    date, time_ = request.query_params.get("since_date"), request.query_params.get("since_time")
    if date is None:
        return None
    try:
        dt.datetime.strptime(date, "%Y%m%d")
        hours = float(time_) if time_ else 0.0
    except ValueError:
        raise BadRequest("since_date must be YYYYMMDD and since_time decimal hours") from None
    return date, hours


def _limit(request: Request, default: int = 500, most: int = MAX_LIMIT) -> int:
    raw = request.query_params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise BadRequest(f"limit must be an integer 1..{most}")
    return int(raw)
