"""The audit store on the real PostgreSQL: partitioned, idempotent, append-only, and the
per-record projection kept in the same transaction as the events."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import asyncpg
import pytest
from audit.service import AuditRow, to_row
from audit.store import store_rows
from mlc_core.contracts import Envelope, OutcomeStatus, ZohoWriteOutcome, caused_by, encode

from tests.factories import FakeRecord, command, raw_event


def rows_of(*events: tuple[str, Envelope]) -> list[AuditRow]:
    return [
        to_row(FakeRecord(value=encode(e), topic=topic, offset=i))
        for i, (topic, e) in enumerate(events)
    ]


def outcome(cmd: Any, status: OutcomeStatus, **fields: Any) -> ZohoWriteOutcome:
    return ZohoWriteOutcome(
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=status,
        **fields,
    )


async def projection(pool: asyncpg.Pool, tenant: str, key: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT * FROM audit_records WHERE tenant_id = $1 AND source_key = $2", tenant, key
    )
    assert row is not None, f"no projection for {tenant} {key}"
    return dict(row)


async def test_redelivered_batch_is_stored_once_and_counted_once(
    app_pool: asyncpg.Pool, tenant_id: str
) -> None:
    cmd = command(key="01-RED", tenant=tenant_id)
    failed = outcome(cmd, OutcomeStatus.FAILED, error_code="INTERNAL_ERROR", error_message="503")
    batch = rows_of(("mlc.zoho.commands", cmd), ("mlc.zoho.outcomes", failed))
    assert await store_rows(app_pool, batch) == 2
    assert await store_rows(app_pool, batch + batch) == 0  # redelivery, even duplicated
    stored = await app_pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE tenant_id = $1", tenant_id
    )
    assert stored == 2
    state = await projection(app_pool, tenant_id, "01-RED")
    assert state["failure_count"] == 1 and state["last_outcome"] == "failed"
    assert state["last_error_code"] == "INTERNAL_ERROR"


async def test_projection_follows_failure_then_recovery(
    app_pool: asyncpg.Pool, tenant_id: str
) -> None:
    raw = raw_event(tenant=tenant_id, CustomerNo="REC")
    cmd = command(key="01-REC", tenant=tenant_id, version=raw.source_version)
    failed = outcome(cmd, OutcomeStatus.FAILED, error_code="INTERNAL_ERROR", error_message="down")
    await store_rows(app_pool, rows_of(("mlc.sage.changes", raw), ("mlc.zoho.commands", cmd)))
    await store_rows(app_pool, rows_of(("mlc.zoho.outcomes", failed)))
    assert (await projection(app_pool, tenant_id, "01-REC"))["last_outcome"] == "failed"

    ok = outcome(cmd, OutcomeStatus.SUCCEEDED, zoho_id="5550001", action="insert")
    stale = outcome(cmd, OutcomeStatus.SKIPPED_STALE, error_message="already there")
    await store_rows(app_pool, rows_of(("mlc.zoho.outcomes", ok), ("mlc.zoho.outcomes", stale)))
    state = await projection(app_pool, tenant_id, "01-REC")
    assert state["last_outcome"] == "succeeded" and state["zoho_id"] == "5550001"
    assert state["failure_count"] == 1 and state["source_version"] == raw.source_version
    assert state["module"] == "Accounts"


async def test_log_is_partitioned_by_month(app_pool: asyncpg.Pool, tenant_id: str) -> None:
    await store_rows(app_pool, rows_of(("mlc.zoho.commands", command(tenant=tenant_id))))
    kind = await app_pool.fetchval("SELECT relkind FROM pg_class WHERE relname = 'audit_events'")
    assert kind == b"p" or kind == "p"
    parts = await app_pool.fetch(
        "SELECT tableoid::regclass::text AS part FROM audit_events WHERE tenant_id = $1",
        tenant_id,
    )
    month = await app_pool.fetchval("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM')")
    assert [r["part"] for r in parts] == [f"audit_events_{month}"]


STATEMENTS = [
    "UPDATE audit_events SET event_type = 'x' WHERE tenant_id = $1",
    "DELETE FROM audit_events WHERE tenant_id = $1",
    "UPDATE audit_event_ids SET recorded_at = now()"
    " WHERE event_id IN (SELECT event_id FROM audit_events WHERE tenant_id = $1)",
    "DELETE FROM audit_event_ids"
    " WHERE event_id IN (SELECT event_id FROM audit_events WHERE tenant_id = $1)",
]


@pytest.mark.parametrize("sql", STATEMENTS)
@pytest.mark.parametrize("role", ["app", "owner"])
async def test_audit_rows_cannot_be_updated_or_deleted(
    sql: str, role: str, app_pool: asyncpg.Pool, admin_dsn: str, app_dsn: str
) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    await store_rows(app_pool, rows_of(("mlc.zoho.commands", command(tenant=tenant))))
    conn = await asyncpg.connect(admin_dsn if role == "owner" else app_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(sql, tenant)
    finally:
        await conn.close()
    assert (
        await app_pool.fetchval("SELECT count(*) FROM audit_events WHERE tenant_id = $1", tenant)
        == 1
    )


@pytest.mark.parametrize("role", ["app", "owner"])
async def test_audit_tables_and_partitions_cannot_be_truncated(
    role: str, app_pool: asyncpg.Pool, admin_dsn: str, app_dsn: str
) -> None:
    await store_rows(app_pool, rows_of(("mlc.zoho.commands", command())))
    month = await app_pool.fetchval("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM')")
    conn = await asyncpg.connect(admin_dsn if role == "owner" else app_dsn)
    try:
        for table in ("audit_events", f"audit_events_{month}", "audit_event_ids"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"TRUNCATE {table}")
    finally:
        await conn.close()


async def test_a_nul_in_sage_text_is_stored_not_retried_forever(
    app_pool: asyncpg.Pool, tenant_id: str
) -> None:
    # jsonb refuses U+0000; before jsonb_safe such a batch failed at the same offset forever.
    hostile = command(tenant=tenant_id, Description="line one\x00line two")
    value = encode(hostile)
    [row] = rows_of(("mlc.zoho.commands", hostile))
    assert await store_rows(app_pool, [row]) == 1
    stored = await app_pool.fetchval(
        "SELECT payload FROM audit_events WHERE event_id = $1", hostile.event_id
    )
    assert stored["record"]["Description"] == "line one\u2400line two"
    assert base64.b64decode(stored["_mlc_nul_replaced"]["value_b64"]) == value
