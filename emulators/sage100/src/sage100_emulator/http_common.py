"""Shared HTTP helpers: error bodies, JSON body parsing, exception mapping."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sage100_emulator.columns import RecordError
from sage100_emulator.customers import CursorError
from sage100_emulator.state import (
    CompanyNotFoundError,
    CustomerNotFoundError,
    TableNotFoundError,
)

JsonObject = dict[str, object]


class BadRequestError(Exception):
    """A request the emulator refuses with HTTP 400."""

    def __init__(self, message: str, error: str = "bad_request") -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def error_response(
    status: int, error: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status, headers=headers)


async def read_object(request: Request) -> JsonObject:
    """The JSON object in the body; an empty body counts as {}."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequestError(f"body is not valid JSON: {exc}", "invalid_json") from exc
    if not isinstance(body, dict):
        raise BadRequestError("body must be a JSON object", "invalid_json")
    return body


def get_bool(body: JsonObject, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise BadRequestError(f"{key} must be true or false")
    return value


def get_int(body: JsonObject, key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequestError(f"{key} must be an integer between {low} and {high}")
    return value


def get_optional_int(body: JsonObject, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{key} must be an integer")
    return value


def get_str(body: JsonObject, key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise BadRequestError(f"{key} must be a string")
    return value


def get_str_list(body: JsonObject, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequestError(f"{key} must be a list of strings")
    return [str(v) for v in value]


def get_object_list(body: JsonObject, key: str) -> list[JsonObject]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadRequestError(f"{key} must be a list of JSON objects")
    return [dict(v) for v in value]


async def handle_bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequestError)
    return error_response(400, exc.error, exc.message)


async def handle_record_error(request: Request, exc: Exception) -> Response:
    return error_response(400, "invalid_record", str(exc))


async def handle_cursor_error(request: Request, exc: Exception) -> Response:
    return error_response(400, "invalid_cursor", str(exc))


async def handle_company_not_found(request: Request, exc: Exception) -> Response:
    company = request.path_params.get("company", "")
    return error_response(404, "company_not_found", f"company {company!r} does not exist")


async def handle_customer_not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CustomerNotFoundError)
    return error_response(404, "not_found", f"no AR_Customer record {', '.join(exc.keys)}")


async def handle_table_not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TableNotFoundError)
    return error_response(404, "not_found", exc.what)


EXCEPTION_HANDLERS = {
    TableNotFoundError: handle_table_not_found,
    BadRequestError: handle_bad_request,
    RecordError: handle_record_error,
    CursorError: handle_cursor_error,
    CompanyNotFoundError: handle_company_not_found,
    CustomerNotFoundError: handle_customer_not_found,
}
