"""Control API for tests and demos (prefix /_emulator, no auth)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoho_emulator.dcs import accounts_server
from zoho_emulator.http_common import BodyError, JsonObject, base_url, read_json_object
from zoho_emulator.state import DEFAULT_SCOPES, ZohoState


def _str(body: JsonObject, key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise BodyError(f"{key} must be a non-empty string")
    return value


def _optional_number(body: JsonObject, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BodyError(f"{key} must be a non-negative number")
    return float(value)


def _str_list(body: JsonObject, key: str, default: tuple[str, ...] = ()) -> list[str]:
    """A list of strings, or one comma-separated string (Zoho's scope format)."""
    value = body.get(key, list(default))
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BodyError(f"{key} must be a list of strings")
    return [str(v) for v in value]


class ControlApi:
    def __init__(self, state: ZohoState) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        org = "/_emulator/orgs/{org}"
        return [
            Route("/_emulator/health", self.health, methods=["GET"]),
            Route("/_emulator/clients", self.add_client, methods=["POST"]),
            Route("/_emulator/orgs", self.add_org, methods=["POST"]),
            Route("/_emulator/orgs", self.list_orgs, methods=["GET"]),
            Route(f"{org}/grant-codes", self.grant_code, methods=["POST"]),
            Route(f"{org}/records/{{module}}", self.records, methods=["GET"]),
            Route(f"{org}/records/{{module}}", self.clear_records, methods=["DELETE"]),
            Route(f"{org}/records/{{module}}/modified", self.modified, methods=["GET"]),
            Route(f"{org}/stats", self.stats, methods=["GET"]),
            Route(f"{org}/move", self.move, methods=["POST"]),
            Route(f"{org}/settings", self.org_settings, methods=["POST"]),
            Route(f"{org}/expire-tokens", self.expire_tokens, methods=["POST"]),
            Route(f"{org}/fields/{{module}}/{{field}}", self.field_rule, methods=["POST"]),
            Route("/_emulator/faults", self.add_fault, methods=["POST"]),
            Route("/_emulator/faults", self.list_faults, methods=["GET"]),
            Route("/_emulator/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_emulator/clock", self.get_clock, methods=["GET"]),
            Route("/_emulator/clock", self.advance_clock, methods=["POST"]),
        ]

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def add_client(self, request: Request) -> Response:
        """Body {"client_id", "client_secret", "redirect_uri"?, "dcs"? (default: all)}."""
        body = await read_json_object(request)
        client_id = _str(body, "client_id")
        redirect_uri = body.get("redirect_uri")
        self._state.add_client(
            client_id,
            _str(body, "client_secret"),
            redirect_uri if isinstance(redirect_uri, str) else None,
            _str_list(body, "dcs"),
        )
        return JSONResponse({"client_id": client_id}, 201)

    async def add_org(self, request: Request) -> Response:
        """Body {"org_id", "dc": "us", "edition": "enterprise", "time_zone": "UTC", "users": 10}."""
        body = await read_json_object(request)
        org = self._state.add_org(
            _str(body, "org_id"),
            _str(body, "dc", "us"),
            _str(body, "edition", "enterprise"),
            _str(body, "time_zone", "UTC"),
            int(_optional_number(body, "users") or 10),
        )
        return JSONResponse(org.summary(), 201)

    async def list_orgs(self, request: Request) -> Response:
        return JSONResponse({"orgs": [org.summary() for org in self._state.orgs()]})

    async def grant_code(self, request: Request) -> Response:
        """Body {"client_id", "scopes": ["ZohoCRM.modules.ALL"]}; single use, 3 min."""
        body = await read_json_object(request)
        scopes = _str_list(body, "scopes", DEFAULT_SCOPES)
        grant = self._state.mint_grant_code(
            request.path_params["org"], _str(body, "client_id"), scopes
        )
        return JSONResponse(
            {
                "code": grant.code,
                "accounts_server": accounts_server(base_url(request), grant.dc),
                "location": grant.dc,
                "scopes": list(grant.scopes),
                "expires_in": self._state.oauth.code_ttl,
            },
            201,
        )

    async def records(self, request: Request) -> Response:
        """All records of a module, each with its `$write_count`."""
        org = self._state.org(request.path_params["org"])
        module = org.module(request.path_params["module"])
        if module is None:
            return JSONResponse({"error": "module_not_found", "message": "unknown module"}, 404)
        data = [
            org.record_view(module, record) | {"$write_count": record.write_count}
            for record in org.store(module).all()
        ]
        return JSONResponse({"data": data})

    async def modified(self, request: Request) -> Response:
        """Records written at or after ?since= (epoch seconds, emulated clock): id, the value of
        the ?key= field, modified time and write count. Lets a benchmark time each write
        without fetching every record's values."""
        org = self._state.org(request.path_params["org"])
        module = org.module(request.path_params["module"])
        if module is None:
            return JSONResponse({"error": "module_not_found", "message": "unknown module"}, 404)
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            raise BodyError("since must be a number (epoch seconds)") from None
        key = request.query_params.get("key", "")
        data = [
            {
                "id": record.id,
                "key": record.values.get(key) if key else None,
                "modified_time": record.modified_time,
                "write_count": record.write_count,
            }
            for record in org.store(module).all()
            if record.modified_time >= since
        ]
        return JSONResponse({"data": data})

    async def clear_records(self, request: Request) -> Response:
        org = self._state.org(request.path_params["org"])
        module = org.module(request.path_params["module"])
        if module is None:
            return JSONResponse({"error": "module_not_found", "message": "unknown module"}, 404)
        store = org.store(module)
        count = len(store)
        store.clear()
        return JSONResponse({"deleted": count})

    async def stats(self, request: Request) -> Response:
        return JSONResponse(self._state.stats(request.path_params["org"]))

    async def move(self, request: Request) -> Response:
        """Body {"dc": "eu"}: the org's data moves; its access tokens stop working and the
        next refresh (at the original accounts server) carries the new api_domain."""
        body = await read_json_object(request)
        dropped = self._state.move_org(request.path_params["org"], _str(body, "dc"))
        org = self._state.org(request.path_params["org"])
        return JSONResponse(org.summary() | {"access_tokens_invalidated": dropped})

    async def org_settings(self, request: Request) -> Response:
        """Body with any of {"edition", "users", "credits_per_day", "concurrency",
        "search_lag_seconds", "discrete_page_limit"} (the last: records reachable with `page`
        before page_token is needed, 2000 as in Zoho); null resets an override."""
        body = await read_json_object(request)
        org = self._state.org(request.path_params["org"])
        if "edition" in body:
            self._state.set_edition(org.org_id, _str(body, "edition"))
        if "users" in body:
            org.limits.users = int(_optional_number(body, "users") or 0)
        if "credits_per_day" in body:
            credits = _optional_number(body, "credits_per_day")
            org.limits.credits_override = None if credits is None else int(credits)
        if "concurrency" in body:
            concurrency = _optional_number(body, "concurrency")
            org.limits.concurrency_override = None if concurrency is None else int(concurrency)
        if "search_lag_seconds" in body:
            org.search_lag_seconds = _optional_number(body, "search_lag_seconds") or 0.0
        if "discrete_page_limit" in body:
            org.discrete_limit = int(_optional_number(body, "discrete_page_limit") or 2000)
        return JSONResponse(org.summary() | {"limits": org.limits.describe()})

    async def field_rule(self, request: Request) -> Response:
        """Body {"mandatory": true}: an administrator changes a field's layout rule (Zoho
        then refuses inserts without it: MANDATORY_NOT_FOUND, per record)."""
        body = await read_json_object(request)
        org = self._state.org(request.path_params["org"])
        module = org.module(request.path_params["module"])
        found = module.field(request.path_params["field"]) if module else None
        if module is None or found is None:
            return JSONResponse({"error": "not_found", "message": "unknown module or field"}, 404)
        mandatory = body.get("mandatory")
        if not isinstance(mandatory, bool):
            raise BodyError("give mandatory: true or false")
        module.fields[found.api_name] = replace(found, mandatory=mandatory)
        return JSONResponse({"module": module.api_name, "field": found.api_name, **body})

    async def expire_tokens(self, request: Request) -> Response:
        """A token-expiry storm: every live access token of the org becomes INVALID_TOKEN."""
        org = self._state.org(request.path_params["org"]).org_id
        return JSONResponse({"expired": self._state.oauth.expire_org_tokens(org)})

    async def add_fault(self, request: Request) -> Response:
        """Body {"org", "status": 503, "seconds": 120, "calls": 3, "latency_ms": 300}.

        `status` makes the org's CRM API answer that status (503 INTERNAL_ERROR,
        429 TOO_MANY_REQUESTS: a 429 burst) for `seconds` or for the next `calls`
        calls, or until cleared; `latency_ms` delays each CRM API call while it
        holds a concurrency slot (a latency above the client's timeout is a timeout);
        `answer` ("empty", "no_data", "malformed") answers the org's CRM calls 200 with a
        body that fits no documented shape, for `seconds` or the next `calls` calls.
        """
        body = await read_json_object(request)
        org_id = self._state.org(_str(body, "org")).org_id
        seconds = _optional_number(body, "seconds")
        status = _optional_number(body, "status")
        latency = _optional_number(body, "latency_ms")
        answer = body.get("answer")
        if status is None and latency is None and answer is None:
            raise BodyError("give status, latency_ms and/or answer")
        if status is not None:
            if not 400 <= status <= 599:
                raise BodyError("status must be 400..599")
            calls = _optional_number(body, "calls")
            count = None if calls is None else int(calls)
            self._state.faults.set_status(org_id, int(status), seconds, count)
        if latency is not None:
            self._state.faults.set_latency(org_id, int(latency), seconds)
        if answer is not None:
            calls = _optional_number(body, "calls")
            try:
                self._state.faults.set_answer(
                    org_id, str(answer), seconds, None if calls is None else int(calls)
                )
            except ValueError as exc:
                raise BodyError(str(exc)) from exc
        return JSONResponse({"faults": self._state.faults.describe()})

    async def list_faults(self, request: Request) -> Response:
        return JSONResponse({"faults": self._state.faults.describe()})

    async def clear_faults(self, request: Request) -> Response:
        """Clears every fault, or one org's with ?org=..."""
        self._state.faults.clear(request.query_params.get("org"))
        return JSONResponse({"faults": self._state.faults.describe()})

    async def get_clock(self, request: Request) -> Response:
        return JSONResponse(self._clock_body())

    async def advance_clock(self, request: Request) -> Response:
        """Body {"advance_seconds": 3600}: expire tokens, codes and throttle windows."""
        body = await read_json_object(request)
        self._state.clock.advance(_optional_number(body, "advance_seconds") or 0.0)
        return JSONResponse(self._clock_body())

    def _clock_body(self) -> dict[str, object]:
        now = self._state.clock.now()
        return {"now": now, "iso": dt.datetime.fromtimestamp(now, dt.UTC).isoformat()}
