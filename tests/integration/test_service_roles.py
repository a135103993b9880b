"""Least privilege on the real PostgreSQL: each service's role (migration 0008) can do what its
service does and nothing it does not; only the audit role appends to the audit log, and nobody
changes it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from mlc_core.db import (
    SERVICE_ROLES,
    migrate,
    migration_files,
    role_passwords,
)
from mlc_core.schema_wait import wait_for_schema

from tests.infra import ADMIN_URL, with_database

INSERT_ID = "INSERT INTO audit_event_ids (event_id, recorded_at) VALUES ($1, now())"
INSERT_EVENT = (
    "INSERT INTO audit_events (event_id, event_type, schema_version, topic, kafka_partition,"
    " kafka_offset, payload, recorded_at) VALUES ($1, 'x', 1, 't', 0, 0, '{}', now())"
)


@pytest.fixture
async def connect(database: str) -> AsyncIterator[object]:
    opened: list[asyncpg.Connection] = []

    async def as_role(role: str) -> asyncpg.Connection:
        conn = await asyncpg.connect(with_database(ADMIN_URL, database, user=role))
        opened.append(conn)
        return conn

    yield as_role
    for conn in opened:
        await conn.close()


async def refused(conn: asyncpg.Connection, sql: str, *args: object) -> bool:
    try:
        async with conn.transaction():
            await conn.execute(sql, *args)
    except asyncpg.InsufficientPrivilegeError:
        return True
    return False


@pytest.mark.parametrize("role", ["mlc_writer", "mlc_poller", "mlc_mapper", "mlc_operator"])
async def test_only_the_audit_role_appends_to_the_audit_log(connect: object, role: str) -> None:
    conn = await connect(role)  # type: ignore[operator]
    event_id = uuid.uuid4()
    assert await refused(conn, INSERT_ID, event_id), f"{role} pre-claimed an event id"
    assert await refused(conn, INSERT_EVENT, event_id), f"{role} inserted an audit event"
    assert await refused(conn, "UPDATE audit_events SET event_type = 'y'")
    assert await refused(conn, "DELETE FROM audit_events")
    assert await refused(conn, "DELETE FROM audit_event_ids")
    assert await refused(conn, "TRUNCATE audit_events")


async def test_the_audit_role_inserts_but_never_updates_or_deletes(connect: object) -> None:
    conn = await connect("mlc_audit")  # type: ignore[operator]
    event_id = uuid.uuid4()
    await conn.execute("SELECT audit_ensure_partitions(now())")
    await conn.execute(INSERT_ID, event_id)
    await conn.execute(INSERT_EVENT, event_id)
    assert await conn.fetchval("SELECT count(*) FROM audit_events WHERE event_id = $1", event_id)
    where = " WHERE event_id = $1"
    assert await refused(conn, "UPDATE audit_events SET event_type = 'y'" + where, event_id)
    assert await refused(conn, "DELETE FROM audit_events" + where, event_id)
    assert await refused(conn, "DELETE FROM audit_event_ids" + where, event_id)
    assert await refused(conn, "TRUNCATE audit_events")
    # and it reads nothing it does not need: the tenants' encrypted secrets
    assert await refused(conn, "SELECT secrets FROM tenants")


async def test_each_service_role_stays_in_its_own_tables(connect: object) -> None:
    writer = await connect("mlc_writer")  # type: ignore[operator]
    assert await writer.fetchval("SELECT count(*) FROM writer_parked") is not None
    assert await refused(writer, "DELETE FROM poller_watermarks")
    assert await refused(writer, "UPDATE tenants SET enabled = false")
    mapper = await connect("mlc_mapper")  # type: ignore[operator]
    assert await mapper.fetchval("SELECT count(*) FROM tenant_mappings") is not None
    assert await refused(mapper, "DELETE FROM tenant_mappings")
    assert await refused(mapper, "SELECT count(*) FROM zoho_tokens")
    poller = await connect("mlc_poller")  # type: ignore[operator]
    assert await poller.fetchval("SELECT count(*) FROM poller_outbox") is not None
    assert await refused(poller, "SELECT count(*) FROM zoho_tokens")
    assert await refused(
        poller, "INSERT INTO sync_requests (tenant_id, entity, mode) VALUES ('x', 'y', 'poll')"
    )


async def test_migrate_sets_the_passwords_it_is_given(database: str) -> None:
    environ = {var: f"pw-{role}" for role, var in SERVICE_ROLES.items()} | {
        "MLC_DATABASE_MAPPER_PASSWORD": ""
    }
    passwords = role_passwords(environ)
    assert "mlc_mapper" not in passwords and passwords["mlc_writer"] == "pw-mlc_writer"
    await migrate(with_database(ADMIN_URL, database), passwords={"mlc_writer": "pw-w"})
    admin = await asyncpg.connect(with_database(ADMIN_URL, database))
    try:
        assert await admin.fetchval(
            "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'mlc_writer'"
        )
        with pytest.raises(ValueError, match="not one of"):
            await migrate(with_database(ADMIN_URL, database), passwords={"postgres": "x"})
    finally:
        await admin.execute("ALTER ROLE mlc_writer PASSWORD NULL")
        await admin.close()


async def test_a_service_role_sees_when_its_schema_is_current(database: str) -> None:
    dsn = with_database(ADMIN_URL, database, user="mlc_mapper")
    assert await wait_for_schema(dsn, timeout_s=0) == []
    empty = f"mlc_empty_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{empty}"')
    try:
        missing = await wait_for_schema(with_database(ADMIN_URL, empty), timeout_s=0)
        assert missing == [version for version, _ in migration_files()]
    finally:
        await admin.execute(f'DROP DATABASE "{empty}"')
        await admin.close()
