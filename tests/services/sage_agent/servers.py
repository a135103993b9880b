"""Real HTTP servers for Sage-side tests: the emulator (control, /_pvx BOI, SOAP) and the agent,
each a uvicorn server in a background thread on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from sage100_emulator.app import create_app
from sage100_emulator.clock import EmulatorClock
from sage100_emulator.state import SageState
from sage_agent.main import AgentSettings
from sage_agent.main import create_app as create_agent_app
from starlette.applications import Starlette

AGENT_TOKEN = "test-agent-token"
SAGE_USER, SAGE_PASSWORD = "MLCAGENT", "sage100"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Starlette, **tls: str) -> Iterator[str]:
    """`tls`: uvicorn's ssl_certfile and ssl_keyfile, to serve HTTPS."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **tls)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class SageSide:
    state: SageState
    emulator_url: str
    agent_url: str
    app: Starlette

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.emulator_url, timeout=60)


@contextmanager
def sage_side(tz: str = "UTC", **agent_overrides: object) -> Iterator[SageSide]:
    state = SageState(EmulatorClock(tz))
    state.ensure_company("ABC")
    app = create_app(state)
    with serve(app) as emulator_url:
        settings = AgentSettings(
            token=AGENT_TOKEN,  # type: ignore[arg-type]
            companies=str(agent_overrides.pop("companies", "*")),
            boi="emulator",
            emulator_url=emulator_url,
            sage_user=SAGE_USER,
            sage_password=SAGE_PASSWORD,  # type: ignore[arg-type]
            lock_base_seconds=0.01,
            lock_cap_seconds=0.05,
            **agent_overrides,  # type: ignore[arg-type]
        )
        with serve(create_agent_app(settings)) as agent_url:
            yield SageSide(state, emulator_url, agent_url, app)
