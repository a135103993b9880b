"""Liveness and readiness over HTTP, for Kubernetes probes (port from MLC_HEALTH_PORT).

GET /healthz answers 200 while the service's event loop runs and its work makes progress: it is
served by that same loop, so a blocked or dead loop fails the probe; and it answers 503 (naming
them) once a watched loop (the Kafka consume loop, a supervised tenant loop) has shown no
progress for MLC_LIVENESS_STALL_SECONDS, a consumer that stopped consuming while its process
lives on. Either way the pod is restarted.
GET /readyz answers 200 when Kafka and PostgreSQL accept connections, 503 (with what failed)
otherwise or once the service is stopping, so no traffic or rollout waits on a pod that cannot
work. Dependency checks are cached for a few seconds so probes never load the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
from pydantic_settings import BaseSettings, SettingsConfigDict

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 3.0
CACHE_S = 5.0


class ProbeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_", extra="ignore")

    health_port: int | None = None  # unset: no probe server (local runs, several per host)
    health_host: str = "0.0.0.0"  # noqa: S104 - kubelet probes the pod IP
    # A loop silent this long is stalled. It must exceed the longest honest pause: a batch
    # whose Zoho writes back off for minutes, one page of a poll (the consumer's
    # max_poll_interval is 15 minutes for the same reason).
    liveness_stall_seconds: float = 900.0


Stalled = Callable[[float], list[str]]  # monotonic now -> names of stalled loops


@dataclass
class Heartbeat:
    """A loop's sign of progress: `beat()` each time it gets somewhere."""

    name: str
    stall_after: float
    last: float = field(default_factory=time.monotonic)

    def beat(self) -> None:
        self.last = time.monotonic()

    def stalled(self, now: float) -> list[str]:
        return [self.name] if now - self.last > self.stall_after else []


@dataclass
class Liveness:
    """The loops /healthz watches: heartbeats, and other sources of stalled loop names (a
    Supervisor's, `watch(lambda now: loops.stalled(longer_than=..., now=now))`)."""

    stall_after: float = 900.0
    sources: list[Stalled] = field(default_factory=list)

    def heartbeat(self, name: str) -> Heartbeat:
        beat = Heartbeat(name, self.stall_after)
        self.sources.append(beat.stalled)
        return beat

    def watch(self, stalled: Stalled) -> None:
        self.sources.append(stalled)

    def stalled(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        return sorted(name for source in self.sources for name in source(now))


def kafka_check(bootstrap: str) -> Check:
    async def check() -> None:
        errors = []
        for server in bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.open_connection(host, int(port))
            except OSError as exc:
                errors.append(f"{server}: {exc.strerror or exc}")
                continue
            writer.close()
            return  # one reachable broker is enough: the client finds the rest
        raise ConnectionError("no Kafka broker reachable: " + "; ".join(errors))

    return check


def postgres_check(dsn: str) -> Check:
    async def check() -> None:
        conn = await asyncpg.connect(dsn, timeout=CHECK_TIMEOUT_S)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    return check


@dataclass
class Readiness:
    checks: dict[str, Check]
    stop: asyncio.Event
    _cached: tuple[float, dict[str, str]] = field(default=(0.0, {}))

    async def failures(self) -> dict[str, str]:
        if self.stop.is_set():
            return {"service": "stopping"}
        stamp, failed = self._cached
        if time.monotonic() - stamp > CACHE_S:
            failed = {n: e for n, c in self.checks.items() if (e := await _run(c)) is not None}
            self._cached = (time.monotonic(), failed)
        return failed


async def _run(check: Check) -> str | None:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


async def serve_probes(
    host: str, port: int, readiness: Readiness, liveness: Liveness | None = None
) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            request = await asyncio.wait_for(reader.readline(), timeout=CHECK_TIMEOUT_S)
            path = request.decode(errors="replace").split(" ")[1] if b" " in request else ""
            status, body = await _answer(path, readiness, liveness)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, host, port)


async def _answer(
    path: str, readiness: Readiness, liveness: Liveness | None
) -> tuple[str, dict[str, object]]:
    if path == "/healthz":
        stalled = liveness.stalled() if liveness is not None and not readiness.stop.is_set() else []
        if stalled:
            return "503 Service Unavailable", {"status": "stalled", "stalled": stalled}
        return "200 OK", {"status": "alive"}
    if path == "/readyz":
        failed = await readiness.failures()
        if failed:
            return "503 Service Unavailable", {"status": "not ready", "failed": failed}
        return "200 OK", {"status": "ready"}
    return "404 Not Found", {"status": "unknown path", "paths": ["/healthz", "/readyz"]}
