"""Client of the on-premises agent: change feeds on Sage's audit stamps, fetch by key.

The agent speaks JSON over HTTPS with a bearer token; records keep Sage's own column names and
formats (YYYYMMDD dates, TimeUpdated as decimal hours in the server's local time).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from mlc_core.entities.sage import SAGE_TABLES
from mlc_core.sage.errors import (
    SageAuthError,
    SageNotFound,
    SageProtocolError,
    SageRecordLocked,
    SageUnavailable,
)

if TYPE_CHECKING:
    from mlc_core.tenants import Tenant

ENTITY_PATHS = {str(entity): spec.path for entity, spec in SAGE_TABLES.items()}


def _pin_bytes(fingerprint: str) -> bytes:
    try:
        pin = bytes.fromhex(fingerprint.strip().lower().removeprefix("sha256:").replace(":", ""))
    except ValueError:
        pin = b""
    if len(pin) != hashlib.sha256().digest_size:
        raise ValueError("an agent fingerprint is 32 bytes of SHA-256, hex (colons allowed)")
    return pin


def normalized_fingerprint(fingerprint: str) -> str:
    """`sha256:<64 lower-case hex>`, from any spelling `pinned_tls` accepts; ValueError else."""
    return f"sha256:{_pin_bytes(fingerprint).hex()}"


def pinned_tls(fingerprint: str) -> ssl.SSLContext:
    """TLS to an agent with its self-signed certificate (`mlc-sage-agent-tls`), trusted by
    SHA-256 fingerprint alone: the handshake fails, before any request (and so the token) is
    sent, unless the agent's certificate has exactly that fingerprint. Pass it as
    `httpx.AsyncClient(verify=...)`."""
    pin = _pin_bytes(fingerprint)

    def check(peer: ssl.SSLObject | ssl.SSLSocket) -> None:
        der = peer.getpeercert(binary_form=True)
        if der is None or not hmac.compare_digest(hashlib.sha256(der).digest(), pin):
            raise ssl.SSLCertVerificationError("the agent's certificate is not the pinned one")

    class PinnedObject(ssl.SSLObject):  # asyncio/anyio TLS
        def do_handshake(self) -> None:
            super().do_handshake()
            check(self)

    class PinnedSocket(ssl.SSLSocket):  # blocking sockets
        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            check(self)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the pin decides
    context.sslobject_class, context.sslsocket_class = PinnedObject, PinnedSocket
    return context


class AgentConnections:
    """Every agent client is built here, from the tenant's settings: a tenant with a pinned
    fingerprint is reached through an HTTP client that trusts that certificate alone (httpx
    fixes TLS trust per client, so one per fingerprint, made on first use); the others through
    `http`, which trusts the system CAs. `aclose` closes the pinned clients (`http` is the
    caller's)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._pinned: dict[str, httpx.AsyncClient] = {}

    def http_for(self, fingerprint: str | None) -> httpx.AsyncClient:
        if not fingerprint:
            return self._http
        pin = normalized_fingerprint(fingerprint)
        if pin not in self._pinned:
            self._pinned[pin] = httpx.AsyncClient(
                timeout=self._http.timeout, verify=pinned_tls(pin)
            )
        return self._pinned[pin]

    def client(self, tenant: Tenant) -> SageAgentClient:
        sage = tenant.config.sage
        return SageAgentClient(
            self.http_for(sage.agent_fingerprint),
            base_url=sage.agent_url,
            token=tenant.secrets.sage_agent_token.get_secret_value(),
        )

    async def aclose(self) -> None:
        pinned, self._pinned = list(self._pinned.values()), {}
        for client in pinned:
            await client.aclose()


@asynccontextmanager
async def agent_for(tenant: Tenant, *, http: httpx.AsyncClient) -> AsyncIterator[SageAgentClient]:
    """One command's client of the tenant's agent (`mlc ping`, `mlc reconcile`, `mlc sync`)."""
    connections = AgentConnections(http)
    try:
        yield connections.client(tenant)
    finally:
        await connections.aclose()


# The agent ends a change-feed page at 8 MB of JSON (MLC_AGENT_PAGE_BYTES); past this an answer
# is a fault (or an agent without that bound) and is refused before it is read whole.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
KEY_PAGE = 5000  # keys per page of the reconciliation listing (the agent's maximum)


@dataclass(frozen=True)
class ChangePage:
    records: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class StampListing:
    """(source_key, DateUpdated, TimeUpdated) of the rows changed since a stamp; `complete`
    false when the agent stopped at the limit (the change feed is then the way to read them)."""

    stamps: list[tuple[str, str, str]]
    complete: bool


class SageAgentClient:
    """The one interface the connector uses to read Sage 100 (through the on-premises agent)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        token: str,
        sage_logon: tuple[str, SecretStr] | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        if sage_logon is not None:
            # Sage expects per-call credentials: the tenant's Sage user rides on each request
            # (over TLS); without it the agent uses the service user it was installed with.
            user, password = sage_logon
            self._headers |= {"X-Sage-User": user, "X-Sage-Password": password.get_secret_value()}

    def _entity_path(self, company: str, entity: str) -> str:
        return f"/v1/companies/{company}/{ENTITY_PATHS[entity]}"

    async def fetch(
        self, *, company: str, entity: str, source_key: str, include: Collection[str] = ()
    ) -> dict[str, Any]:
        """One record by source_key (docs/sage-entities.md); SageNotFound if it is not in Sage.
        `include`: sensitive columns to receive (the agent withholds them otherwise)."""
        path = f"{self._entity_path(company, entity)}/records/{quote(source_key, safe='')}"
        return await self._get(path, _included({}, include))

    async def keys(
        self, *, company: str, entity: str, include: Collection[str] = ()
    ) -> dict[str, str]:
        """Every key in Sage now, with the record's content hash (hex): {source_key: hash}.
        Read in pages of KEY_PAGE keys (an agent without paging answers one page, no cursor)."""
        where, found, cursor = f"{company}/{entity}", dict[str, str](), None
        while True:
            params: dict[str, str | int] = _included({"limit": KEY_PAGE}, include)
            if cursor:
                params["cursor"] = cursor
            body = await self._get(f"{self._entity_path(company, entity)}/keys", params)
            items, next_cursor = body.get("keys"), body.get("next_cursor")
            if not isinstance(items, list):
                raise SageProtocolError(f"agent key set for {where} has no keys list")
            try:
                found.update((str(item["key"]), str(item["hash"])) for item in items)
            except (KeyError, TypeError) as exc:
                raise SageProtocolError(f"agent key set for {where} is malformed") from exc
            if not next_cursor:
                return found
            if not isinstance(next_cursor, str) or not items or next_cursor == cursor:
                # A page that promises more but does not advance would have us loop on it.
                raise SageProtocolError(f"agent key set for {where}: bad next_cursor")
            cursor = next_cursor

    async def changes(
        self,
        *,
        company: str,
        entity: str,
        since: tuple[str, float] | None,
        cursor: str | None = None,
        limit: int = 500,
        include: Collection[str] = (),
    ) -> ChangePage:
        params: dict[str, str | int] = _included({"limit": limit}, include)
        if since is not None:
            params["since_date"], params["since_time"] = since[0], f"{since[1]:.6f}"
        if cursor:
            params["cursor"] = cursor
        body = await self._get(f"{self._entity_path(company, entity)}/changes", params)
        return _change_page(body, f"{company}/{entity}")

    async def stamps(
        self, *, company: str, entity: str, since: tuple[str, float], limit: int
    ) -> StampListing:
        """Key and stamps of the records changed since `since`, one narrow listing; an agent
        without the listing answers SageNotFound."""
        params: dict[str, str | int] = {"limit": limit, "since_date": since[0]}
        params["since_time"] = f"{since[1]:.6f}"
        body = await self._get(f"{self._entity_path(company, entity)}/stamps", params)
        items, complete = body.get("stamps"), body.get("complete")
        where = f"{company}/{entity}"
        if not isinstance(items, list) or not isinstance(complete, bool):
            raise SageProtocolError(f"agent stamp listing for {where} is malformed")
        try:
            found = [(str(i["key"]), str(i["date"]), str(i["time"])) for i in items]
        except (KeyError, TypeError) as exc:
            raise SageProtocolError(f"agent stamp listing for {where} is malformed") from exc
        return StampListing(found, complete)

    async def _get(self, path: str, params: dict[str, str | int]) -> dict[str, Any]:
        url = self._base + path
        try:
            async with self._http.stream("GET", url, params=params, headers=self._headers) as got:
                _raise_for_status(got, path)
                content = await _read_limited(got, path)
        except httpx.HTTPError as exc:
            raise SageUnavailable(f"agent {self._base} unreachable: {exc!r}") from exc
        try:
            body = json.loads(content)
        except ValueError as exc:
            raise SageProtocolError(f"agent sent non-JSON for {path}") from exc
        if not isinstance(body, dict):
            raise SageProtocolError(f"agent sent a non-object for {path}")
        return body


def _included(params: dict[str, str | int], include: Collection[str]) -> dict[str, str | int]:
    if include:
        params["include"] = ",".join(sorted(include))
    return params


async def _read_limited(response: httpx.Response, path: str) -> bytearray:
    """The body, refused beyond MAX_RESPONSE_BYTES: a page is at most a few MB of records,
    so a bigger answer is a fault, and reading it whole could exhaust the poller's memory."""
    body = bytearray()  # grown in place: no list of chunks joined into a second copy
    async for chunk in response.aiter_bytes():
        if len(body) + len(chunk) > MAX_RESPONSE_BYTES:
            raise SageProtocolError(f"agent answer for {path} exceeds {MAX_RESPONSE_BYTES} bytes")
        body += chunk
    return body  # json.loads reads it as it is


def _change_page(body: dict[str, Any], where: str) -> ChangePage:
    records, next_cursor = body.get("records"), body.get("next_cursor")
    if not isinstance(records, list):
        raise SageProtocolError(f"agent change feed for {where} has no records list")
    if not all(isinstance(record, dict) for record in records):
        raise SageProtocolError(f"agent change feed for {where} has a record that is no object")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise SageProtocolError(f"agent change feed for {where}: next_cursor is not text")
    if next_cursor and not records:
        # A page that promises more but carries nothing would have the poller loop on it.
        raise SageProtocolError(f"agent change feed for {where} claims more pages but is empty")
    return ChangePage(records=records, next_cursor=next_cursor)


def _raise_for_status(response: httpx.Response, path: str) -> None:
    status = response.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise SageAuthError(f"agent refused our token for {path} ({status})")
    if status == 404:
        raise SageNotFound(f"agent: {path} not found")
    if status == 423:
        raise SageRecordLocked(f"agent: record/file busy for {path}")
    raise SageUnavailable(f"agent answered {status} for {path}")
