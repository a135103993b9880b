"""CRM records face: {base}/api/{dc}/crm/v8/{module}... (zoho-crm.md §2, §3)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoho_emulator.errors import ApiError, invalid_url, scope_mismatch
from zoho_emulator.gate import CrmCall, Gate, json_body
from zoho_emulator.limits import HEAVY_WRITE_RECORDS, write_cost
from zoho_emulator.listing import ListQuery, list_records
from zoho_emulator.metadata import ModuleDef
from zoho_emulator.oauth import search_scope_allows
from zoho_emulator.records import StoredRecord
from zoho_emulator.search import search
from zoho_emulator.state import ZohoState
from zoho_emulator.writes import BatchWriter, WriteOutcome, check_batch, duplicate_check_order

TRIGGERS = frozenset({"workflow", "approval", "blueprint", "pathfinder", "orchestration"})
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
Run = Callable[[BatchWriter], WriteOutcome]


def _check_trigger(trigger: object) -> bool:
    """Validates `trigger`; True when the write runs workflow rules (omitted, or listed)."""
    if trigger is None:
        return True
    if not isinstance(trigger, list) or any(t not in TRIGGERS for t in trigger):
        raise ApiError(400, "INVALID_DATA", "invalid data", {"api_name": "trigger"})
    return "workflow" in trigger


def external_field(module: ModuleDef, header: str) -> str:
    """The field named by `X-EXTERNAL: {Module}.{Field}`; it must be an external field."""
    module_name, _, field_name = header.partition(".")
    definition = module.field(field_name)
    if (
        module_name.lower() != module.api_name.lower()
        or definition is None
        or definition.external is None
    ):
        raise ApiError(400, "INVALID_DATA", "invalid data", {"api_name": "X-EXTERNAL"})
    return field_name


class CrmApi:
    def __init__(self, state: ZohoState) -> None:
        self._state = state
        self._gate = Gate(state)

    def routes(self) -> list[Route]:
        base = "/api/{dc}/crm/v8/{module}"
        return [
            Route(f"{base}/upsert", self.upsert, methods=["POST"]),
            Route(f"{base}/search", self.search, methods=["GET"]),
            Route(base, self.list_module, methods=["GET"]),
            Route(base, self.insert, methods=["POST"]),
            Route(base, self.update, methods=["PUT"]),
            Route(f"{base}/{{record_id}}", self.get_record, methods=["GET"]),
            Route(f"{base}/{{record_id}}", self.update_one, methods=["PUT"]),
            Route(f"{base}/{{record_id}}", self.delete_one, methods=["DELETE"]),
            Route("/api/{rest:path}", self.unknown_url, methods=ALL_METHODS),
        ]

    async def upsert(self, request: Request) -> Response:
        call = await self._gate.open_module(request, "CREATE", "UPDATE")
        body = await json_body(request)
        data = check_batch(body.get("data"))
        order = duplicate_check_order(call.module, body.get("duplicate_check_fields"))
        fires = _check_trigger(body.get("trigger"))
        return await self._write(call, len(data), fires, lambda w: w.upsert(data, order))

    async def insert(self, request: Request) -> Response:
        call = await self._gate.open_module(request, "CREATE")
        body = await json_body(request)
        data = check_batch(body.get("data"))
        fires = _check_trigger(body.get("trigger"))
        return await self._write(call, len(data), fires, lambda w: w.insert(data))

    async def update(self, request: Request) -> Response:
        """PUT /{module}: every record carries its `id`."""
        call = await self._gate.open_module(request, "UPDATE")
        body = await json_body(request)
        data = check_batch(body.get("data"))
        fires = _check_trigger(body.get("trigger"))
        return await self._write(call, len(data), fires, lambda w: w.update(data))

    async def update_one(self, request: Request) -> Response:
        """PUT /{module}/{id}, or /{module}/{external value} with X-EXTERNAL (§3.1, §4.3)."""
        call = await self._gate.open_module(request, "UPDATE")
        body = await json_body(request)
        data = check_batch(body.get("data"))
        fires = _check_trigger(body.get("trigger"))
        header = request.headers.get("x-external")
        key = external_field(call.module, header) if header else "id"
        first = data[0] if isinstance(data[0], dict) else {}
        record = [first | {key: segment_param(request, "record_id")}]
        return await self._write(
            call, 1, fires, lambda w: w.update(record, key if header else None)
        )

    async def search(self, request: Request) -> Response:
        call = await self._gate.open_module(request, "READ")
        if not search_scope_allows(call.access.scopes):
            raise scope_mismatch()
        async with self._gate.admitted(call.org):
            response = search(call.org, call.module, request.query_params, self._now())
        return self._gate.respond(call.org, response)

    async def list_module(self, request: Request) -> Response:
        call = await self._gate.open_module(request, "READ")
        query = ListQuery.parse(request.query_params, request.headers.get("if-modified-since"))
        async with self._gate.admitted(call.org):
            response = list_records(call.org, call.module, query)
        return self._gate.respond(call.org, response)

    async def get_record(self, request: Request) -> Response:
        """By id, or by external value with `X-EXTERNAL: {Module}.{Field}`; 204 if absent."""
        call = await self._gate.open_module(request, "READ")
        key = segment_param(request, "record_id")
        header = request.headers.get("x-external")
        store = call.org.store(call.module)
        record: StoredRecord | None
        async with self._gate.admitted(call.org):
            if header:
                hits = store.find(external_field(call.module, header), key)
                record = hits[0] if hits else None
            else:
                record = store.get(key)
        if record is None:
            return self._gate.respond(call.org, Response(status_code=204))
        view = call.org.record_view(call.module, record)
        return self._gate.respond(call.org, JSONResponse({"data": [view]}))

    async def delete_one(self, request: Request) -> Response:
        """DELETE /{module}/{id} (or external value with X-EXTERNAL); per-record result."""
        call = await self._gate.open_module(request, "DELETE")
        key = segment_param(request, "record_id")
        header = request.headers.get("x-external")
        store = call.org.store(call.module)
        async with self._gate.admitted(call.org):
            found = store.find(external_field(call.module, header), key) if header else None
            record = found[0] if found else (None if header else store.get(key))
            if record is not None:
                store.delete(record)
        if record is None:
            item = {"code": "INVALID_DATA", "details": {"id": key},
                    "message": "the id given seems to be invalid", "status": "error"}  # fmt: skip
            return self._gate.respond(call.org, JSONResponse({"data": [item]}, 400))
        item = {"code": "SUCCESS", "details": {"id": record.id},
                "message": "record deleted", "status": "success"}  # fmt: skip
        return self._gate.respond(call.org, JSONResponse({"data": [item]}))

    async def unknown_url(self, request: Request) -> Response:
        raise invalid_url()

    async def _write(self, call: CrmCall, count: int, fires: bool, run: Run) -> Response:
        heavy = count > HEAVY_WRITE_RECORDS
        async with self._gate.admitted(call.org, write_cost(count), heavy=heavy):
            outcome = run(BatchWriter(call.org, call.module, self._now()))
        if fires:
            call.org.stats.workflow_runs += sum(r.get("status") == "success" for r in outcome.data)
        return self._gate.respond(call.org, JSONResponse(outcome.body(), outcome.status))

    def _now(self) -> float:
        return self._state.clock.now()


def segment_param(request: Request, name: str) -> str:
    """A path parameter's value: its segment fully decoded (app.SegmentPaths kept `/` and `%`
    encoded so that the segment stayed one)."""
    return unquote(request.path_params[name])
