"""Starlette application factory for the Sage 100 emulator."""

from __future__ import annotations

from starlette.applications import Starlette

from sage100_emulator.agent_api import AgentApi
from sage100_emulator.control_api import ControlApi
from sage100_emulator.http_common import EXCEPTION_HANDLERS
from sage100_emulator.state import SageState

DEFAULT_AGENT_TOKEN = "dev-agent-token"


def create_app(state: SageState, *, agent_token: str = DEFAULT_AGENT_TOKEN) -> Starlette:
    """Agent API (/v1, bearer token) plus control API (/_emulator) over `state`."""
    routes = [*AgentApi(state, agent_token).routes(), *ControlApi(state).routes()]
    app = Starlette(routes=routes, exception_handlers=dict(EXCEPTION_HANDLERS))
    app.state.emulator = state
    return app
