"""Starlette application factory for the Zoho CRM emulator."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.emulator = state
    return app
