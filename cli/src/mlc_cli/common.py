"""What every `mlc` verb shares: the database and keys, secrets from env or prompt, output.

Secrets never come from arguments (they would land in shell history and `ps`): each has an
environment variable, and on a terminal the command prompts for it without echo.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
from mlc_core.crypto import KeyRing
from mlc_core.db import create_pool
from mlc_core.runtime import keyring_from
from mlc_core.settings import CommonSettings
from mlc_core.tenants import Tenant, TenantNotFound, load_tenant
from mlc_core.zoho.errors import ZohoError
from mlc_ops.errors import OpsError
from pydantic import SecretStr

SECRET_ENV = {
    "sage_agent_token": "MLC_SAGE_AGENT_TOKEN",
    "sage_password": "MLC_SAGE_PASSWORD",
    "zoho_client_secret": "MLC_ZOHO_CLIENT_SECRET",
    "zoho_refresh_token": "MLC_ZOHO_REFRESH_TOKEN",
    "zoho_grant_code": "MLC_ZOHO_GRANT_CODE",
    "console_admin_password": "MLC_CONSOLE_ADMIN_PASSWORD",
}


def connection() -> tuple[str, KeyRing]:
    settings = CommonSettings()
    try:
        return settings.database_url.get_secret_value(), keyring_from(settings)
    except ValueError as exc:
        raise SystemExit(f"mlc: {exc}") from exc


@contextmanager
def exit_on_refusal() -> Iterator[None]:
    """An operation's refusal ends the command with its message (which names tenant, record
    and what to do) instead of a traceback."""
    try:
        yield
    except TenantNotFound as exc:
        raise SystemExit(f"mlc: {exc} (see `mlc tenant list`)") from exc
    except (OpsError, ZohoError) as exc:
        raise SystemExit(f"mlc: {exc}") from exc


# A person's command may read the whole audit log (replay, verify, reconcile): it gets a longer
# statement bound than a service, but still one, so a lock it waits on cannot hold it forever.
COMMAND_STATEMENT_TIMEOUT_S = 600.0


@asynccontextmanager
async def database() -> AsyncIterator[tuple[asyncpg.Pool, KeyRing]]:
    dsn, keyring = connection()
    pool = await create_pool(dsn, statement_timeout_s=COMMAND_STATEMENT_TIMEOUT_S)
    try:
        with exit_on_refusal():
            yield pool, keyring
    finally:
        await pool.close()


@asynccontextmanager
async def pool_only() -> AsyncIterator[asyncpg.Pool]:
    """The database without the master keys, for verbs that open no secret."""
    pool = await create_pool(
        CommonSettings().database_url.get_secret_value(),
        statement_timeout_s=COMMAND_STATEMENT_TIMEOUT_S,
    )
    try:
        with exit_on_refusal():
            yield pool
    finally:
        await pool.close()


async def tenant_or_exit(pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str) -> Tenant:
    try:
        return await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    except TenantNotFound as exc:
        raise SystemExit(f"mlc: {exc} (see `mlc tenant list`)") from exc


def secret_or_none(name: str, *, prompt: bool = True) -> SecretStr | None:
    """The secret from its env var, else a no-echo prompt on a terminal, else None."""
    value = os.environ.get(SECRET_ENV[name])
    if value is None and prompt and sys.stdin.isatty():
        value = getpass.getpass(f"{name.replace('_', ' ')} (input hidden): ")
    return SecretStr(value) if value else None


def secret(name: str, *, prompt: bool = True) -> SecretStr:
    value = secret_or_none(name, prompt=prompt)
    if value is None:
        raise SystemExit(
            f"mlc: {name} missing: set {SECRET_ENV[name]} (never pass it as an argument)"
        )
    return value


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")


def emit(args: argparse.Namespace, data: Any, text: Callable[[Any], str]) -> None:
    """Print `data` as JSON when --json was given, else as the human text."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str))
    else:
        print(text(data))


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=False)).rstrip()
        for line in lines
    )
