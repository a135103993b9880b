"""The audit log's hash chains on the real PostgreSQL: the audit service links each tenant's
events as it stores them, `verify_chains` proves a chain intact, and tampering done as the
database owner with the append-only triggers off (session_replication_role = replica) is found
and the first broken link named: a changed event, a removed one, a removed tail, a pre-claimed
event id. `mlc audit verify` runs as the operator role and exits 1 on a break."""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from audit.service import AuditRow, to_row
from audit.store import store_rows, verify_chains
from mlc_core.contracts import encode

from tests.factories import FakeRecord, raw_event
from tests.infra import ADMIN_URL, with_database


def batch(tenant: str, first: int, count: int) -> list[AuditRow]:
    events = [
        ("mlc.sage.changes", raw_event(tenant=tenant, CustomerNo=f"C{first + i:04d}"))
        for i in range(count)
    ]
    return [
        to_row(FakeRecord(value=encode(e), topic=topic, offset=first + i))
        for i, (topic, e) in enumerate(events)
    ]


@pytest.fixture
async def admin(admin_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute("SET session_replication_role = replica")  # triggers off: a tamperer
    yield conn
    await conn.close()


@pytest.fixture
async def chained(app_pool: asyncpg.Pool, tenant_id: str) -> tuple[str, datetime]:
    """A tenant with 12 events in three batches, another tenant's events between them."""
    since = datetime.now(UTC)
    other = f"{tenant_id}x"
    for n in range(3):
        assert await store_rows(app_pool, batch(tenant_id, n * 4, 4)) == 4
        await store_rows(app_pool, batch(other, n * 4, 2))
    return tenant_id, since


async def only(pool: asyncpg.Pool, tenant: str, since: datetime) -> object:
    checks, _, orphans = await verify_chains(pool, tenant=tenant, since=since)
    [check] = checks
    assert orphans == []
    return check


async def test_a_tenants_events_form_one_intact_chain(
    app_pool: asyncpg.Pool, chained: tuple[str, datetime]
) -> None:
    tenant, since = chained
    check = await only(app_pool, tenant, since)
    assert check.intact and check.checked == 12  # type: ignore[attr-defined]
    assert (check.first_seq, check.last_seq) == (1, 12)  # type: ignore[attr-defined]
    # a redelivered batch adds nothing to the chain
    more = batch(tenant, 12, 3)
    assert await store_rows(app_pool, more) == 3
    assert await store_rows(app_pool, more + more) == 0
    checks, _, _ = await verify_chains(app_pool, tenant=tenant)
    assert checks[0].intact and checks[0].last_seq == 15


async def test_a_range_in_the_middle_is_anchored_to_the_event_before_it(
    app_pool: asyncpg.Pool, chained: tuple[str, datetime]
) -> None:
    tenant, _ = chained
    rows = await app_pool.fetch(
        "SELECT chain_seq, recorded_at FROM audit_events WHERE tenant_id = $1 ORDER BY chain_seq",
        tenant,
    )
    middle = rows[4]["recorded_at"]  # the second batch
    checks, _, _ = await verify_chains(
        app_pool, tenant=tenant, since=middle, until=rows[8]["recorded_at"]
    )
    assert checks[0].intact and (checks[0].first_seq, checks[0].last_seq) == (5, 8)


async def test_a_changed_event_is_the_first_broken_link(
    app_pool: asyncpg.Pool, admin: asyncpg.Connection, chained: tuple[str, datetime]
) -> None:
    tenant, since = chained
    event_id = await admin.fetchval(
        "UPDATE audit_events SET payload = jsonb_set(payload, '{record,CustomerName}', '\"X\"')"
        " WHERE tenant_id = $1 AND chain_seq = 6 RETURNING event_id",
        tenant,
    )
    check = await only(app_pool, tenant, since)
    assert check.broken.seq == 6 and check.broken.event_id == event_id  # type: ignore[attr-defined]
    assert "content changed" in check.broken.reason  # type: ignore[attr-defined]


async def test_a_removed_event_leaves_a_gap_that_is_named(
    app_pool: asyncpg.Pool, admin: asyncpg.Connection, chained: tuple[str, datetime]
) -> None:
    tenant, since = chained
    await admin.execute(
        "WITH gone AS (DELETE FROM audit_events WHERE tenant_id = $1 AND chain_seq = 3"
        " RETURNING event_id) DELETE FROM audit_event_ids WHERE event_id IN (SELECT * FROM gone)",
        tenant,
    )
    check = await only(app_pool, tenant, since)
    assert check.broken.seq == 4  # type: ignore[attr-defined]
    assert "events 3 are missing" in check.broken.reason  # type: ignore[attr-defined]


async def test_a_removed_tail_is_caught_by_the_head(
    app_pool: asyncpg.Pool, admin: asyncpg.Connection, chained: tuple[str, datetime]
) -> None:
    tenant, since = chained
    await admin.execute("DELETE FROM audit_events WHERE tenant_id = $1 AND chain_seq > 10", tenant)
    checks, _, orphans = await verify_chains(app_pool, tenant=tenant, since=since)
    assert checks[0].broken is not None and checks[0].broken.seq == 11
    assert len(orphans) == 2  # their ids stay registered with no event


async def test_a_pre_claimed_event_id_is_reported(
    app_pool: asyncpg.Pool, admin: asyncpg.Connection
) -> None:
    claimed = uuid.uuid4()
    at = datetime(1990, 1, 1, tzinfo=UTC)  # a range no other test looks at
    await admin.execute(
        "INSERT INTO audit_event_ids (event_id, recorded_at) VALUES ($1, $2)", claimed, at
    )
    _, _, orphans = await verify_chains(app_pool, since=at, until=datetime(1990, 1, 2, tzinfo=UTC))
    assert orphans == [str(claimed)]


async def test_mlc_audit_verify_as_the_operator_names_the_break(
    app_pool: asyncpg.Pool,
    admin: asyncpg.Connection,
    chained: tuple[str, datetime],
    database: str,
) -> None:
    tenant, since = chained
    env = os.environ | {"MLC_DATABASE_URL": with_database(ADMIN_URL, database, "mlc_operator")}
    mlc = [str(pathlib.Path(sys.executable).parent / "mlc"), "audit", "verify"]
    mlc += ["--tenant", tenant, "--since", since.isoformat()]
    code, out = await run(mlc, env)
    assert code == 0, out
    assert f"tenant {tenant}: intact, 12 events 1-12" in out
    await admin.execute(
        "UPDATE audit_events SET event_type = 'forged' WHERE tenant_id = $1 AND chain_seq = 2",
        tenant,
    )
    code, out = await run(mlc, env)
    assert code == 1
    assert f"tenant {tenant}: BROKEN at link 2" in out


async def run(argv: list[str], env: dict[str, str]) -> tuple[int | None, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return proc.returncode, out.decode()
