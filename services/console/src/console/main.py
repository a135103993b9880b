"""mlc-console: wires settings, the database pool, the master keys and an HTTP client into the
console's routes, and serves them with uvicorn on MLC_CONSOLE_HOST:MLC_CONSOLE_PORT."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from mlc_core.db import SERVICE_CONNECT_RETRY_S, create_pool
from mlc_core.logging import configure_logging
from mlc_core.runtime import keyring_from
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from console import actions, auth, connect, handlers, onboard
from console.settings import ConsoleSettings
from console.snapshot import HealthSnapshot

TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger("console")


def routes() -> list[Route]:
    return [
        Route("/healthz", handlers.healthz),
        Route("/readyz", handlers.readyz),
        Route("/signin", handlers.signin_page, methods=["GET"]),
        Route("/signin", handlers.signin, methods=["POST"]),
        Route("/signout", handlers.signout, methods=["POST"]),
        Route("/", handlers.tenants_page),
        Route("/live/tenants", handlers.tenants_rows),
        Route("/tenants/{tenant}", handlers.tenant_page),
        Route("/live/tenants/{tenant}", handlers.tenant_entities),
        Route("/tenants/{tenant}/ping", actions.ping_tenant, methods=["POST"]),
        Route("/tenants/{tenant}/sync", actions.sync_tenant, methods=["POST"]),
        Route("/tenants/{tenant}/sync/{request:int}", actions.sync_progress),
        Route("/tenants/{tenant}/replay", actions.replay_failed, methods=["POST"]),
        Route("/tenants/{tenant}/connect-zoho", connect.connect_zoho_page, methods=["GET"]),
        Route("/tenants/{tenant}/connect-zoho", connect.connect_zoho_start, methods=["POST"]),
        Route(connect.CALLBACK, connect.zoho_callback, name="zoho_callback"),
        Route("/tenants/{tenant}/onboard", onboard.onboard_page, methods=["GET"]),
        Route("/tenants/{tenant}/onboard", onboard.onboard_start, methods=["POST"]),
        Route("/tenants/{tenant}/connect-sage", connect.connect_sage_page, methods=["GET"]),
        Route("/tenants/{tenant}/connect-sage", connect.connect_sage, methods=["POST"]),
        Route("/tenants/{tenant}/enable", actions.set_enabled, methods=["POST"]),
        Route("/tenants/{tenant}/disable", actions.set_enabled, methods=["POST"]),
        Route("/records", handlers.record_page),
        Route("/operators", handlers.operators_page),
    ]


def session_secret(settings: ConsoleSettings) -> bytes:
    if settings.console_session_secret is not None:
        return settings.console_session_secret.get_secret_value().encode()
    return auth.derive_secret(settings.master_keys_text())


def build_app(settings: ConsoleSettings) -> Starlette:
    keyring = keyring_from(settings)
    templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescapes HTML

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await create_pool(
            settings.database_url.get_secret_value(), retry_for=SERVICE_CONNECT_RETRY_S
        )
        health = HealthSnapshot(pool, keyring, settings.console_refresh_seconds)
        refresher = asyncio.create_task(health.run())
        async with httpx.AsyncClient(timeout=20) as http:
            app.state.console = handlers.Console(
                settings=settings,
                pool=pool,
                keyring=keyring,
                http=http,
                secret=session_secret(settings),
                templates=templates,
                health=health,
            )
            try:
                yield
            finally:
                refresher.cancel()
                await pool.close()

    return Starlette(routes=routes(), lifespan=lifespan)


def run() -> None:
    settings = ConsoleSettings()
    configure_logging("console", settings.log_level)
    if settings.console_admin_password_hash is None:
        log.warning("no MLC_CONSOLE_ADMIN_PASSWORD_HASH: nobody can sign in")
    uvicorn.run(
        build_app(settings),
        host=settings.console_host,
        port=settings.console_port,
        log_level="warning",
        proxy_headers=True,
    )
