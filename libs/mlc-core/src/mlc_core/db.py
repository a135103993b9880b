"""PostgreSQL access: connection pools and versioned schema migrations.

Migrations are plain SQL files `migrations/NNNN_name.sql`, applied in order, each in its own
transaction, under an advisory lock so two processes starting together do not race. They run with
the owner role (MLC_DATABASE_ADMIN_URL) and create one login role per service (SERVICE_ROLES):
each service connects as its own role, with only the grants it needs (migration 0008). `mlc_app`
is the development and test role, a member of all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What `pool.acquire()` hands out and what `asyncpg.connect()` returns: both run queries.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]

log = logging.getLogger(__name__)
MIGRATION_LOCK = 7_210_001

# Login role -> the environment variable `mlc db migrate` reads its password from.
SERVICE_ROLES = {
    "mlc_poller": "MLC_DATABASE_POLLER_PASSWORD",
    "mlc_mapper": "MLC_DATABASE_MAPPER_PASSWORD",
    "mlc_writer": "MLC_DATABASE_WRITER_PASSWORD",
    "mlc_audit": "MLC_DATABASE_AUDIT_PASSWORD",
    "mlc_operator": "MLC_DATABASE_OPERATOR_PASSWORD",
    "mlc_app": "MLC_DATABASE_APP_PASSWORD",
}


def role_passwords(environ: Mapping[str, str]) -> dict[str, str]:
    """The login roles whose password is set in `environ` (empty values are ignored)."""
    return {role: environ[var] for role, var in SERVICE_ROLES.items() if environ.get(var)}


class PooledConnection(asyncpg.Connection):
    """A pool's connection that is reset on release only when it took session state.

    asyncpg resets every connection handed back to its pool with one more statement (advisory
    locks, cursors, LISTEN, SET): a second round trip for every one-statement `pool.fetch`,
    the most common call here. Under CPU contention each round trip is a wake-up of two
    processes, and a writer's share of a batch or a tenant's poll is a chain of them: sampled
    during the fairness bench's load (py-spy), the reset was the largest single PostgreSQL
    call site in both the poller and the writer. Nothing here
    keeps session state but a session advisory lock, which says so (`took_session_state`):
    only such a connection runs the reset query. An open transaction is rolled back on
    release either way (asyncpg does that before the reset query); SET LOCAL ends with it.
    """

    __slots__ = ("_mlc_session_state",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mlc_session_state = False

    def took_session_state(self) -> None:
        """This connection holds state past its transaction (a session advisory lock): reset
        it in full when it goes back to the pool."""
        self._mlc_session_state = True

    def get_reset_query(self) -> str:
        if not self._mlc_session_state:
            return ""
        self._mlc_session_state = False
        return str(super().get_reset_query())


def took_session_state(conn: Connection) -> None:
    """Mark a pool connection (or its proxy) as holding session state; a plain connection
    from `asyncpg.connect` is not pooled and needs nothing."""
    mark = getattr(conn, "took_session_state", None)
    if mark is not None:
        mark()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


# PostgreSQL is down or restarting: refused, "starting up" / "shutting down" (57P03, 57P01),
# a connection cut mid-handshake. Wrong credentials or database are permanent and not here.
SERVICE_CONNECT_RETRY_S = 60.0
NOT_YET = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
)


# No service statement runs longer than this: a query stuck behind a lock or on a sick server
# must fail (and be retried by the caller's policy) rather than hold a consumer's partitions past
# Kafka's max.poll.interval. Commands over the whole audit log pass their own, longer bound.
STATEMENT_TIMEOUT_S = 30.0
# A transaction left open by a stalled process releases its locks after this long; longer than
# any outside call a transaction waits on (a token refresh holds its lock across one HTTP call).
IDLE_IN_TRANSACTION_TIMEOUT_S = 300.0
# The client gives up a little after the server would have: a dead TCP connection never answers.
CLIENT_TIMEOUT_MARGIN_S = 5.0


def session_settings(statement_timeout_s: float) -> dict[str, str]:
    return {
        "statement_timeout": f"{int(statement_timeout_s * 1000)}ms",
        "idle_in_transaction_session_timeout": f"{int(IDLE_IN_TRANSACTION_TIMEOUT_S * 1000)}ms",
    }


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 5,
    retry_for: float = 0.0,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
) -> asyncpg.Pool:
    """A pool, once PostgreSQL answers within `retry_for` seconds (backoff capped at 5 s).

    Services pass SERVICE_CONNECT_RETRY_S: one can pass its dependency wait just as PostgreSQL
    begins a restart, and retrying its first connect for a restart's length keeps it from
    exiting and staying down. Commands keep 0: a person at a prompt wants the error now."""
    deadline, delay = time.monotonic() + retry_for, 0.5
    while True:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                connection_class=PooledConnection,
                server_settings=session_settings(statement_timeout_s),
                command_timeout=statement_timeout_s + CLIENT_TIMEOUT_MARGIN_S,
            )
        except NOT_YET as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("PostgreSQL not reachable yet, retrying", extra={"error": repr(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        assert pool is not None
        return pool


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("mlc_core") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), (folder / name).read_text()) for name in names]


async def migrate(
    dsn: str, *, app_password: str | None = None, passwords: Mapping[str, str] | None = None
) -> list[str]:
    """Apply pending migrations, then set the given roles' passwords (role -> password);
    returns the versions applied now."""
    passwords = dict(passwords or {})
    if app_password:
        passwords.setdefault("mlc_app", app_password)
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = [v for v, sql in migration_files() if v not in done]
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("migration applied", extra={"ctx": {"version": version}})
        for role, password in passwords.items():
            await _set_password(conn, role, password)
        return applied
    finally:
        await conn.close()


async def _set_password(conn: asyncpg.Connection, role: str, password: str) -> None:
    if role not in SERVICE_ROLES:
        raise ValueError(f"not one of the application's roles: {role!r}")
    # ALTER ROLE takes no bind parameters; quote_literal makes the value safe to inline.
    quoted = await conn.fetchval("SELECT quote_literal($1)", password)
    await conn.execute(f"ALTER ROLE {role} PASSWORD {quoted}")


async def pending_migrations(dsn: str) -> list[str]:
    """The migrations this code ships that the database has not applied (all when none is)."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return [version for version, _ in migration_files()]
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    finally:
        await conn.close()
    return [version for version, _ in migration_files() if version not in done]


def as_dict(row: Any) -> dict[str, Any]:
    return dict(row) if row is not None else {}
