"""mlc-sage-agent: the on-premises agent (HTTPS JSON in front of Sage 100's BOI).

Settings come from the environment (prefix MLC_AGENT_); see services/sage-agent/README.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import uvicorn
from mlc_core.logging import configure_logging, ctx
from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette

from sage_agent.app import AgentApi
from sage_agent.boi import Boi
from sage_agent.feed import DEFAULT_PAGE_BYTES, SnapshotCache
from sage_agent.pool import SessionPool
from sage_agent.reader import LockRetry, SageReader
from sage_agent.tls import fingerprint

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 5


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLC_AGENT_", extra="ignore")

    host: str = "0.0.0.0"  # noqa: S104 - an agent serves the connector over the network
    port: int = 8443
    token: SecretStr
    # The company codes the token may read ("ABC,XYZ"); "*" is every company (development).
    companies: str
    tls_cert: Path | None = None  # PEM; mlc-sage-agent-tls makes a self-signed one at install
    tls_key: Path | None = None
    plain_http: bool = False  # serve without TLS: development and tests only
    boi: Literal["com", "emulator"] = "com"
    sage_home: str = r"C:\Sage\Sage 100\MAS90\Home"  # ProvideX.Script.Init path (COM)
    emulator_url: str = "http://127.0.0.1:18100"  # the emulator's /_pvx face (boi=emulator)
    sage_user: str = ""
    sage_password: SecretStr = SecretStr("")
    pool_size: int = 4
    lock_attempts: int = 6
    lock_base_seconds: float = 0.1
    lock_cap_seconds: float = 3.0
    snapshot_ttl_seconds: float = 300.0
    snapshot_max: int = 8
    page_bytes: int = DEFAULT_PAGE_BYTES  # JSON per change-feed page (one record at least)
    log_level: str = "INFO"

    @field_validator("token")
    @classmethod
    def _token_is_set(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("MLC_AGENT_TOKEN is empty: set a long random token")
        return value

    @field_validator("companies")
    @classmethod
    def _companies_are_named(cls, value: str) -> str:
        codes = [code.strip().upper() for code in value.split(",") if code.strip()]
        if not codes:
            raise ValueError("MLC_AGENT_COMPANIES is empty: name the company codes to serve")
        return ",".join(codes)

    @property
    def company_scope(self) -> frozenset[str] | None:
        """The companies the token may read; None for every company ("*")."""
        codes = frozenset(self.companies.split(","))
        return None if "*" in codes else codes


def boi_factory(settings: AgentSettings) -> Callable[[], Boi]:
    if settings.boi == "emulator":
        from sage_agent.boi_remote import RemoteBoi, shared_transport

        transport = shared_transport(sessions=settings.pool_size)
        return lambda: RemoteBoi(settings.emulator_url, transport=transport)
    from sage_agent.boi_com import ComBoi

    return lambda: ComBoi(settings.sage_home)


def create_app(settings: AgentSettings) -> Starlette:
    pool = SessionPool(boi_factory(settings), size=settings.pool_size)
    retry = LockRetry(settings.lock_attempts, settings.lock_base_seconds, settings.lock_cap_seconds)
    api = AgentApi(
        SageReader(pool, retry=retry),
        token=settings.token.get_secret_value(),
        companies=settings.company_scope,
        default_logon=(settings.sage_user, settings.sage_password.get_secret_value()),
        cache=SnapshotCache(
            ttl_seconds=settings.snapshot_ttl_seconds, max_entries=settings.snapshot_max
        ),
        page_bytes=settings.page_bytes,
    )
    return api.app(on_shutdown=pool.close)


def run() -> None:
    try:
        settings = AgentSettings()
    except ValidationError as exc:
        # Without the input values: a token must not reach the console or a log.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"mlc-sage-agent: bad settings (MLC_AGENT_*): {problems}") from None
    configure_logging("sage-agent", settings.log_level)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise SystemExit("set both MLC_AGENT_TLS_CERT and MLC_AGENT_TLS_KEY, or neither")
    if settings.tls_cert is None and not settings.plain_http:
        raise SystemExit(
            "mlc-sage-agent: no TLS certificate. Make one (mlc-sage-agent-tls --name <host>"
            " --dir <folder>) and set MLC_AGENT_TLS_CERT and MLC_AGENT_TLS_KEY;"
            " MLC_AGENT_PLAIN_HTTP=true serves plain HTTP, for development only"
        )
    if settings.tls_cert is not None:
        pin = fingerprint(settings.tls_cert.read_bytes())
        log.info("serving TLS", extra=ctx(certificate=str(settings.tls_cert), sha256=pin))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        log_level=settings.log_level.lower(),
        access_log=False,
        # SIGTERM: requests in flight get this long to finish, then their connections close
        # (the poller asks again); without it a slow page holds the exit without limit.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
