"""Control API for tests and demos (prefix /_emulator, no auth)."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sage100_emulator.http_common import (
    BadRequestError,
    get_bool,
    get_int,
    get_object_list,
    get_optional_int,
    get_str,
    get_str_list,
    read_object,
)
from sage100_emulator.state import DEFAULT_DIVISION, DEFAULT_USER_KEY, SageState

MAX_SEED = 100_000


class ControlApi:
    def __init__(self, state: SageState) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        base = "/_emulator/companies/{company}"
        return [
            Route("/_emulator/companies", self.companies, methods=["GET"]),
            Route(f"{base}/ar_customers", self.list_customers, methods=["GET"]),
            Route(f"{base}/ar_customers", self.upsert_customers, methods=["POST"]),
            Route(f"{base}/ar_customers/touch", self.touch_customers, methods=["POST"]),
            Route(
                f"{base}/ar_customers/{{division}}/{{customer_no}}",
                self.delete_customer,
                methods=["DELETE"],
            ),
            Route(f"{base}/seed", self.seed, methods=["POST"]),
            Route("/_emulator/clock", self.get_clock, methods=["GET"]),
            Route("/_emulator/clock", self.set_clock, methods=["POST"]),
        ]

    async def companies(self, request: Request) -> Response:
        listing = [
            {"code": code, "ar_customers": len(self._state.company(code).ar_customers)}
            for code in self._state.company_codes()
        ]
        return JSONResponse({"companies": listing})

    async def list_customers(self, request: Request) -> Response:
        return JSONResponse({"records": self._state.list_customers(request.path_params["company"])})

    async def upsert_customers(self, request: Request) -> Response:
        """Body {"records": [...], "touch_stamps": true, "user_key": "0000000001"}."""
        body = await read_object(request)
        rows = self._state.upsert_customers(
            request.path_params["company"],
            get_object_list(body, "records"),
            touch_stamps=get_bool(body, "touch_stamps", True),
            user_key=get_str(body, "user_key", DEFAULT_USER_KEY),
        )
        return JSONResponse({"records": rows})

    async def seed(self, request: Request) -> Response:
        """Body {"count": 500, "seed": 42, "division": "01", "touch_stamps": true}."""
        body = await read_object(request)
        rows = self._state.seed_customers(
            request.path_params["company"],
            get_int(body, "count", 100, 0, MAX_SEED),
            get_int(body, "seed", 42, -(2**63), 2**63),
            get_str(body, "division", DEFAULT_DIVISION),
            touch_stamps=get_bool(body, "touch_stamps", True),
        )
        return JSONResponse({"created": len(rows)})

    async def touch_customers(self, request: Request) -> Response:
        """Body {"keys": ["01-0000012"]} or {"random": 30, "seed": 7}."""
        body = await read_object(request)
        keys = get_str_list(body, "keys")
        count = get_int(body, "random", 0, 0, MAX_SEED)
        if not keys and not count:
            raise BadRequestError("give keys or random")
        rows = self._state.touch_customers(
            request.path_params["company"],
            keys=keys,
            random_count=count,
            seed=get_optional_int(body, "seed"),
            touch_stamps=get_bool(body, "touch_stamps", True),
        )
        return JSONResponse({"records": rows})

    async def delete_customer(self, request: Request) -> Response:
        params = request.path_params
        key = self._state.delete_customer(
            params["company"], params["division"], params["customer_no"]
        )
        return JSONResponse({"deleted": key})

    async def get_clock(self, request: Request) -> Response:
        return JSONResponse(self._clock_body())

    async def set_clock(self, request: Request) -> Response:
        """Body {"set": "2026-03-01T14:30:00", "freeze": true, "advance_seconds": 5}.

        A naive "set" value is server-local time.  All keys are optional and are
        applied in the order set, freeze, advance_seconds.
        """
        body = await read_object(request)
        clock = self._state.clock
        if "set" in body:
            try:
                clock.set(dt.datetime.fromisoformat(get_str(body, "set", "")))
            except ValueError:
                raise BadRequestError("set must be an ISO 8601 date-time") from None
        if "freeze" in body:
            if get_bool(body, "freeze", False):
                clock.freeze()
            else:
                clock.unfreeze()
        advance = body.get("advance_seconds", 0)
        if isinstance(advance, bool) or not isinstance(advance, int | float):
            raise BadRequestError("advance_seconds must be a number")
        clock.advance(float(advance))
        return JSONResponse(self._clock_body())

    def _clock_body(self) -> dict[str, object]:
        clock = self._state.clock
        stamp = clock.stamp()
        return {
            "now": clock.now().isoformat(),
            "date": stamp.date,
            "time": stamp.time,
            "tz": clock.tz_name,
            "frozen": clock.frozen,
        }
