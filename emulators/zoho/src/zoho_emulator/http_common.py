"""Request parsing shared by the HTTP faces of the Zoho emulator."""

from __future__ import annotations

import base64
import binascii
import json
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from starlette.requests import Request

JsonObject = dict[str, object]


class BodyError(ValueError):
    """The body is not what the endpoint accepts."""


def base_url(request: Request) -> str:
    """Scheme, host and port (plus root path) the request came in on."""
    return str(request.base_url).rstrip("/")


async def read_json_object(request: Request) -> JsonObject:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BodyError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BodyError("body must be a JSON object")
    return body


async def oauth_params(request: Request) -> dict[str, str]:
    """Token endpoint parameters from the query string, a form body or Basic auth.

    zoho-crm.md §1.2: Zoho's docs use the query string, the SDK a form body,
    and client credentials may come in a Basic auth header.
    """
    params = dict(request.query_params)
    params.update(await _form_params(request))
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return params
        params.setdefault("client_id", client_id)
        params.setdefault("client_secret", secret)
    return params


async def _form_params(request: Request) -> dict[str, str]:
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if not raw:
        return {}
    if content_type.startswith("multipart/form-data"):
        return _multipart_fields(content_type, raw)
    try:
        return dict(parse_qsl(raw.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}


def _multipart_fields(content_type: str, raw: bytes) -> dict[str, str]:
    """Text fields of a multipart/form-data body (no python-multipart needed)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(_class=EmailMessage, policy=HTTP).parsebytes(head + raw)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode(errors="replace")
    return fields
