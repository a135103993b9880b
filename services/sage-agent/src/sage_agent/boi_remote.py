"""Emulated BOI backend: the proxy side of the emulator's pvxcom.exe stand-in (/_pvx).

Topology: the emulator process owns the company data (tests change it through /_emulator) and
hosts the business objects, as pvxcom.exe does on Windows; this class marshals each COM call to
it over HTTP, as COM marshals calls to an out-of-process server. The agent code above `Boi`
is the same for this and for pywin32.
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from sage_agent.boi import CALL_HRESULTS, BoiCallError, BoiError, BoiUnavailable


class RemoteObject:
    def __init__(self, handle: int) -> None:
        self.handle = handle

    def __repr__(self) -> str:
        return f"RemoteObject({self.handle})"


def shared_transport(*, sessions: int) -> httpx.HTTPTransport:
    """One connection pool for every RemoteBoi of an agent.

    A new httpx.Client builds its own transport and SSL context: about 20 ms of CPU, even for
    plain HTTP. The session pool makes a RemoteBoi for each new logon, and an agent that
    serves more companies than it has sessions logs on again at nearly every poll: with one
    agent for 1,000 companies that was most of the agent's 24 ms of CPU per poll in the
    fairness bench. With the shared transport a client costs 0.5 ms, and a poll 8.8 ms (the
    COM backend has no such cost: its objects are in-process). Idle connections are
    dropped after 2 s, before the emulator's server closes them (5 s), so no call goes out on
    a connection being closed."""
    limits = httpx.Limits(max_keepalive_connections=sessions, keepalive_expiry=2.0)
    return httpx.HTTPTransport(limits=limits)


class RemoteBoi:
    """One ProvideX.Script in the emulator; its calls go over the agent's shared_transport,
    which close() leaves open for the other sessions."""

    def __init__(
        self, base_url: str, *, transport: httpx.HTTPTransport, timeout: float = 120.0
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )
        self.script = RemoteObject(int(self._post("/_pvx/v1/script", {})["handle"]))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise BoiUnavailable(f"BOI server unreachable: {exc!r}") from exc
        if response.status_code >= 500:
            raise BoiUnavailable(f"BOI server error: {response.text[:200]}")
        if response.status_code >= 400:
            refused = response.json() if "json" in response.headers.get("content-type", "") else {}
            cls = BoiCallError if refused.get("hresult") in CALL_HRESULTS else BoiError
            raise cls(f"BOI call refused: {response.text[:200]}")
        body_out: dict[str, Any] = response.json()
        return body_out

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"$handle"}:
            return RemoteObject(int(value["$handle"]))
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        return value

    @staticmethod
    def _unwrap(value: Any) -> Any:
        return {"$handle": value.handle} if isinstance(value, RemoteObject) else value

    def new_object(self, name: str, session: Any = None) -> Any:
        args = [name] if session is None else [name, session]
        return self.call(self.script, "NewObject", *args)

    def call(self, obj: Any, method: str, *args: Any) -> Any:
        body = {"handle": obj.handle, "method": method, "args": [self._unwrap(a) for a in args]}
        return self._wrap(self._post("/_pvx/v1/call", body)["result"])

    def get(self, obj: Any, prop: str) -> Any:
        body = {"handle": obj.handle, "method": prop, "property": True}
        return self._wrap(self._post("/_pvx/v1/call", body)["result"])

    def release(self, obj: Any) -> None:
        self._post("/_pvx/v1/release", {"handle": obj.handle})

    def close(self) -> None:
        with contextlib.suppress(BoiError):  # the server is gone; nothing left to release
            self.release(self.script)
