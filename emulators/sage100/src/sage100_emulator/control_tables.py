"""Control API over every table, the generator, record locks and the BOI's live objects.

POST   /_emulator/companies/{company}/generate      {"customers": 1000, "seed": 7}
GET    /_emulator/companies/{company}/tables/{table}
POST   /_emulator/companies/{company}/tables/{table} {"records": [...], "touch_stamps": true,
                                                       "raw": false}
       touch_stamps=false is a Visual Integrator bulk import (stamps untouched); raw=true stores
       values unvalidated (damaged data; {"$bytes_hex": "..."} plants undecodable text).
POST   /_emulator/companies/{company}/tables/{table}/delete   {"key": ["01", "ABF"]}
POST   /_emulator/companies/{company}/tables/{table}/renumber {"key": [...], "new_key": [...]}
       Sage's renumbering utility: the record moves to the new key, stamps untouched; an
       AR_Customer's contacts move with it.
GET    /_emulator/boi            live COM objects and "Record/file busy" answers so far
POST   /_emulator/boi/locks      {"rate": 0.1, "keys": [["AR_Customer", "01", "ABF"]], "seed": 1}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sage100_emulator.http_common import (
    BadRequestError,
    get_bool,
    get_int,
    get_object_list,
    get_optional_int,
    get_str_list,
    read_object,
)
from sage100_emulator.pvx_api import PvxApi
from sage100_emulator.state import SageState

MAX_CUSTOMERS = 100_000


class ControlTablesApi:
    def __init__(self, state: SageState, pvx: PvxApi) -> None:
        self._state, self._pvx = state, pvx

    def routes(self) -> list[Route]:
        base = "/_emulator/companies/{company}"
        table = base + "/tables/{table}"
        return [
            Route(f"{base}/generate", self.generate, methods=["POST"]),
            Route(table, self.list_rows, methods=["GET"]),
            Route(table, self.write_rows, methods=["POST"]),
            Route(f"{table}/delete", self.delete_row, methods=["POST"]),
            Route(f"{table}/renumber", self.renumber_row, methods=["POST"]),
            Route("/_emulator/boi", self.boi_status, methods=["GET"]),
            Route("/_emulator/boi/locks", self.set_locks, methods=["POST"]),
        ]

    async def generate(self, request: Request) -> Response:
        body = await read_object(request)
        counts = self._state.generate_company(
            request.path_params["company"],
            get_int(body, "customers", 100, 0, MAX_CUSTOMERS),
            get_int(body, "seed", 42, -(2**63), 2**63),
        )
        return JSONResponse({"created": counts})

    async def list_rows(self, request: Request) -> Response:
        params = request.path_params
        table = self._state.company(params["company"]).table(params["table"])
        return JSONResponse({"records": table.rows()})

    async def write_rows(self, request: Request) -> Response:
        body = await read_object(request)
        rows = self._state.write_rows(
            request.path_params["company"],
            request.path_params["table"],
            get_object_list(body, "records"),
            touch_stamps=get_bool(body, "touch_stamps", True),
            raw=get_bool(body, "raw", False),
        )
        return Response(_ascii_records(rows), media_type="application/json")

    async def delete_row(self, request: Request) -> Response:
        body = await read_object(request)
        key = tuple(get_str_list(body, "key"))
        self._state.delete_row(request.path_params["company"], request.path_params["table"], key)
        return JSONResponse({"deleted": list(key)})

    async def renumber_row(self, request: Request) -> Response:
        body = await read_object(request)
        old, new = tuple(get_str_list(body, "key")), tuple(get_str_list(body, "new_key"))
        if not old or len(old) != len(new):
            raise BadRequestError("key and new_key must be lists of the same length")
        row = self._state.renumber_row(
            request.path_params["company"], request.path_params["table"], old, new
        )
        return JSONResponse({"record": row})

    async def boi_status(self, request: Request) -> Response:
        return JSONResponse(
            {"live_objects": len(self._pvx.handles), "busy_answers": self._pvx.locks.busy_count}
        )

    async def set_locks(self, request: Request) -> Response:
        body = await read_object(request)
        rate = body.get("rate", 0.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise BadRequestError("rate must be a number in [0, 1]")
        keys = body.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, list) for k in keys):
            raise BadRequestError("keys must be a list of [table, key columns...] lists")
        locks = self._pvx.locks
        locks.rate, locks.keys = float(rate), {tuple(str(p) for p in k) for k in keys}
        seed = get_optional_int(body, "seed")
        if seed is not None:
            locks.reseed(seed)
        return JSONResponse({"rate": locks.rate, "keys": sorted(locks.keys)})


def _ascii_records(rows: Sequence[Mapping[str, object]]) -> bytes:
    # ASCII escapes keep planted undecodable text (surrogates) representable in the answer.
    return json.dumps({"records": rows}, ensure_ascii=True).encode()
