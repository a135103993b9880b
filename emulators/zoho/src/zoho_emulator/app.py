"""Starlette application factory for the Zoho CRM emulator."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from zoho_emulator.accounts_api import AccountsApi
from zoho_emulator.consent import ConsentPage
from zoho_emulator.control_api import ControlApi
from zoho_emulator.crm_api import CrmApi
from zoho_emulator.errors import ApiError
from zoho_emulator.faults import MalformedAnswer
from zoho_emulator.http_common import BodyError
from zoho_emulator.settings_api import SettingsApi
from zoho_emulator.state import (
    ClientNotFoundError,
    ConflictError,
    InvalidRequestError,
    OrgNotFoundError,
    ZohoState,
)


def _control_error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), exc.status, headers=exc.headers)


async def _malformed_answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MalformedAnswer)
    return Response(exc.body, 200, media_type="application/json")


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _control_error(400, "bad_request", str(exc))


async def _conflict(request: Request, exc: Exception) -> Response:
    return _control_error(409, "conflict", str(exc))


async def _org_not_found(request: Request, exc: Exception) -> Response:
    return _control_error(404, "org_not_found", f"no org {exc}")


async def _client_not_found(request: Request, exc: Exception) -> Response:
    return _control_error(404, "client_not_found", f"no OAuth client {exc}")


class SegmentPaths:
    """Route on path segments as sent, the way Zoho's API reads `/{module}/{id}`: a path
    parameter is one segment (the OAS declares `{id}` and `{external_value}` as path
    parameters), percent-decoded only after the path was split (RFC 3986 §3.3). Starlette
    decodes the whole path first, so an external value `A/B` sent as `A%2FB` would become two
    segments and name another URL. Here each segment is decoded except for `/` and `%`, which
    stay encoded until a handler reads the parameter (`segment_param`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw:
            segments = raw.decode("latin-1").split("?", 1)[0].split("/")
            scope = dict(scope, path="/".join(_segment(s) for s in segments))
        await self.app(scope, receive, send)


def _segment(raw: str) -> str:
    return unquote(raw).replace("%", "%25").replace("/", "%2F")


def create_app(state: ZohoState) -> Starlette:
    """Accounts servers, CRM API (all DCs by path prefix) and control API over `state`."""
    routes = [
        *AccountsApi(state).routes(),
        *ConsentPage(state).routes(),
        *SettingsApi(state).routes(),
        *CrmApi(state).routes(),
        *ControlApi(state).routes(),
    ]
    handlers = {
        ApiError: _api_error,
        MalformedAnswer: _malformed_answer,
        BodyError: _bad_request,
        InvalidRequestError: _bad_request,
        ConflictError: _conflict,
        OrgNotFoundError: _org_not_found,
        ClientNotFoundError: _client_not_found,
    }
    app = Starlette(
        routes=routes, exception_handlers=handlers, middleware=[Middleware(SegmentPaths)]
    )
    app.state.emulator = state
    return app
