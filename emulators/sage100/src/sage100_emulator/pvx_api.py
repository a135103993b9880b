"""The BOI stand-in out of process, as pvxcom.exe is: COM calls marshalled as JSON over HTTP.

On Windows, pvxcom.exe is an out-of-process COM server and the agent calls into it through
COM marshalling. Here the emulator process plays pvxcom.exe (it owns the company data that tests
change through /_emulator) and this face marshals calls: objects live in the emulator, the
caller holds integer handles, exactly like COM interface pointers. The agent's emulated BOI
backend (sage_agent.boi_remote) is the proxy side.

POST /_pvx/v1/script                  -> {"handle": h} (a new ProvideX.Script)
POST /_pvx/v1/call {handle, method, args, property?} -> {"result": ...}
POST /_pvx/v1/release {handle}        -> COM Release; objects must be released promptly
Arguments and results that are objects travel as {"$handle": h}. Strings are sent with
ASCII escapes, so undecodable bytes (surrogates) survive the trip like they do over COM.
Every call and property read is held to the documented signatures (`boi_signatures`); a call
that does not fit answers 400 {"error": "com_error", "hresult": ..., "message": ...}, what
pywin32 raises as pywintypes.com_error.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sage100_emulator.boi import BoiBase, BoiError, Credentials, LockPolicy, ProvideXScript
from sage100_emulator.boi_signatures import ComCallError, invoke, read
from sage100_emulator.http_common import BadRequestError, get_str, read_object
from sage100_emulator.state import SageState


def ascii_json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=True), status, media_type="application/json")


class PvxApi:
    def __init__(self, state: SageState, locks: LockPolicy, credentials: Credentials) -> None:
        self._state, self.locks, self._credentials = state, locks, credentials
        self.handles: dict[int, BoiBase] = {}
        self._ids = itertools.count(1)

    def routes(self) -> list[Route]:
        return [
            Route("/_pvx/v1/script", self.script, methods=["POST"]),
            Route("/_pvx/v1/call", self.call, methods=["POST"]),
            Route("/_pvx/v1/release", self.release, methods=["POST"]),
        ]

    def _register(self, obj: BoiBase) -> dict[str, int]:
        handle = next(self._ids)
        self.handles[handle] = obj
        return {"$handle": handle}

    def _object(self, handle: object) -> BoiBase:
        obj = self.handles.get(handle) if isinstance(handle, int) else None
        if obj is None:
            raise BadRequestError(f"no live object with handle {handle!r}", "bad_handle")
        return obj

    async def script(self, request: Request) -> Response:
        created = ProvideXScript(self._state, self.locks, self._credentials)
        return ascii_json({"handle": self._register(created)["$handle"]})

    async def call(self, request: Request) -> Response:
        body = await read_object(request)
        obj = self._object(body.get("handle"))
        method = get_str(body, "method", "")
        raw_args = body.get("args", [])
        if not isinstance(raw_args, list):
            raise BadRequestError("args must be a list", "bad_arguments")
        try:
            if body.get("property"):
                return ascii_json({"result": self._out(read(obj, method))})
            result = invoke(obj, method, tuple(self._in(a) for a in raw_args))
        except ComCallError as exc:
            refused = {"error": "com_error", "hresult": exc.hresult, "message": exc.strerror}
            return ascii_json(refused, 400)
        except BoiError as exc:
            return ascii_json({"error": "com_error", "message": str(exc)}, 500)
        return ascii_json({"result": self._out(result)})

    async def release(self, request: Request) -> Response:
        body = await read_object(request)
        handle = body.get("handle")
        if isinstance(handle, int):
            self.handles.pop(handle, None)
        return ascii_json({"released": True})

    def _in(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"$handle"}:
            return self._object(value["$handle"])
        return value

    def _out(self, value: Any) -> Any:
        if isinstance(value, BoiBase):
            return self._register(value)
        if isinstance(value, tuple | list):
            return [self._out(v) for v in value]
        return value
