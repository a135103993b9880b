"""Starlette application factory for the Sage 100 emulator."""

from __future__ import annotations

from starlette.applications import Starlette

from sage100_emulator.agent_api import AgentApi
from sage100_emulator.boi import Credentials, LockPolicy
from sage100_emulator.control_api import ControlApi
from sage100_emulator.control_tables import ControlTablesApi
from sage100_emulator.http_common import EXCEPTION_HANDLERS
from sage100_emulator.pvx_api import PvxApi
from sage100_emulator.soap_api import SoapApi
from sage100_emulator.state import SageState

DEFAULT_AGENT_TOKEN = "dev-agent-token"


def create_app(
    state: SageState,
    *,
    agent_token: str = DEFAULT_AGENT_TOKEN,
    credentials: Credentials | None = None,
) -> Starlette:
    """Over one `state`: the agent protocol (/v1, bearer token), the BOI stand-in (/_pvx, the
    pvxcom.exe side of COM), eBusiness Web Services (SOAP, /ws/eBusinessWebServices.svc) and
    the control API (/_emulator)."""
    pvx = PvxApi(state, LockPolicy(), credentials or Credentials())
    routes = [
        *AgentApi(state, agent_token).routes(),
        *ControlApi(state).routes(),
        *ControlTablesApi(state, pvx).routes(),
        *pvx.routes(),
        *SoapApi(state).routes(),
    ]
    app = Starlette(routes=routes, exception_handlers=dict(EXCEPTION_HANDLERS))
    app.state.emulator = state
    app.state.pvx = pvx
    return app
