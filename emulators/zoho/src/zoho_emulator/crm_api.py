"""CRM REST face: {base}/api/{dc}/crm/v8/... (zoho-crm.md §2, §3)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoho_emulator.dcs import is_data_centre
from zoho_emulator.errors import (
    ApiError,
    authentication_failure,
    internal_error,
    invalid_module,
    invalid_token,
    invalid_url,
    scope_mismatch,
)
from zoho_emulator.http_common import BodyError, JsonObject, read_json_object
from zoho_emulator.listing import ListQuery, list_records
from zoho_emulator.metadata import ModuleDef
from zoho_emulator.oauth import InvalidTokenError, scope_allows
from zoho_emulator.orgs import Org
from zoho_emulator.records import StoredRecord
from zoho_emulator.state import ZohoState
from zoho_emulator.writes import BatchWriter, check_batch, duplicate_check_order

TRIGGERS = frozenset({"workflow", "approval", "blueprint", "pathfinder", "orchestration"})
_TOKEN_SCHEME = "zoho-oauthtoken"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class CrmCall:
    org: Org
    module: ModuleDef


def _token(request: Request) -> str:
    """`Authorization: Zoho-oauthtoken <token>`; any other form is AUTHENTICATION_FAILURE.

    Whether Zoho also accepts `Bearer` is unconfirmed (§1.3); it is refused here.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != _TOKEN_SCHEME or not token.strip():
        raise authentication_failure()
    return token.strip()


async def _body(request: Request) -> JsonObject:
    try:
        return await read_json_object(request)
    except BodyError as exc:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"reason": str(exc)}) from exc


def _check_trigger(trigger: object) -> None:
    """`trigger` is accepted and validated; no workflow is emulated."""
    if trigger is None:
        return
    if not isinstance(trigger, list) or any(t not in TRIGGERS for t in trigger):
        raise ApiError(400, "INVALID_DATA", "invalid data", {"api_name": "trigger"})


class CrmApi:
    def __init__(self, state: ZohoState) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        base = "/api/{dc}/crm/v8/{module}"
        return [
            Route(f"{base}/upsert", self.upsert, methods=["POST"]),
            Route(base, self.list_module, methods=["GET"]),
            Route(base, self.insert, methods=["POST"]),
            Route(f"{base}/{{record_id}}", self.get_record, methods=["GET"]),
            Route("/api/{rest:path}", self.unknown_url, methods=ALL_METHODS),
        ]

    async def upsert(self, request: Request) -> Response:
        call = await self._open(request, "CREATE", "UPDATE")
        body = await _body(request)
        data = check_batch(body.get("data"))
        order = duplicate_check_order(call.module, body.get("duplicate_check_fields"))
        _check_trigger(body.get("trigger"))
        writer = BatchWriter(call.org, call.module, self._state.clock.now())
        outcome = writer.upsert(data, order)
        return JSONResponse(outcome.body(), outcome.status)

    async def insert(self, request: Request) -> Response:
        call = await self._open(request, "CREATE")
        body = await _body(request)
        data = check_batch(body.get("data"))
        _check_trigger(body.get("trigger"))
        outcome = BatchWriter(call.org, call.module, self._state.clock.now()).insert(data)
        return JSONResponse(outcome.body(), outcome.status)

    async def list_module(self, request: Request) -> Response:
        call = await self._open(request, "READ")
        query = ListQuery.parse(request.query_params, request.headers.get("if-modified-since"))
        return list_records(call.org, call.module, query)

    async def get_record(self, request: Request) -> Response:
        """By id, or by external value with `X-EXTERNAL: {Module}.{Field}`; 204 if absent."""
        call = await self._open(request, "READ")
        key = request.path_params["record_id"]
        external = request.headers.get("x-external")
        store = call.org.store(call.module)
        record: StoredRecord | None
        if external:
            hits = store.find(self._external_field(call.module, external), key)
            record = hits[0] if hits else None
        else:
            record = store.get(key)
        if record is None:
            return Response(status_code=204)
        return JSONResponse({"data": [call.org.record_view(call.module, record)]})

    async def unknown_url(self, request: Request) -> Response:
        raise invalid_url()

    async def _open(self, request: Request, *operations: str) -> CrmCall:
        """Authenticate, apply injected faults, resolve the module, check scopes."""
        dc = request.path_params["dc"]
        if not is_data_centre(dc):
            raise invalid_url()
        token = _token(request)
        org_id = self._state.oauth.org_of(token)
        if org_id is not None:
            await self._apply_faults(org_id)
        try:
            access = self._state.oauth.authenticate(dc, token)
        except InvalidTokenError:
            raise invalid_token() from None
        org = self._state.org(access.org_id)
        module = org.module(request.path_params["module"])
        if module is None:
            raise invalid_module()
        if not all(scope_allows(access.scopes, module.api_name, op) for op in operations):
            raise scope_mismatch()
        org.stats.calls[module.api_name] += 1
        return CrmCall(org, module)

    async def _apply_faults(self, org_id: str) -> None:
        faults = self._state.faults
        latency = faults.latency_seconds(org_id)
        if latency:
            await asyncio.sleep(latency)
        status = faults.take_status(org_id)
        if status is not None:
            self._state.org(org_id).stats.faulted_calls += 1
            raise internal_error(status)

    @staticmethod
    def _external_field(module: ModuleDef, header: str) -> str:
        module_name, _, field_name = header.partition(".")
        definition = module.field(field_name)
        if (
            module_name.lower() != module.api_name.lower()
            or definition is None
            or definition.external is None
        ):
            raise ApiError(400, "INVALID_DATA", "invalid data", {"api_name": "X-EXTERNAL"})
        return field_name
