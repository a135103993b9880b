"""The whole stack as separate processes on real Kafka and PostgreSQL, against the emulators."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_core.tenants import load_tenant
from mlc_core.zoho.records import upsert
from mlc_devtools.devstack import DevStack, StackConfig
from mlc_devtools.emulated import connect_tenant
from zoho_writer.admin import TokenProvider

from tests.e2e.otlp_receiver import OtlpReceiver, otlp_env

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    """Receives the services' traces and metrics (tests/e2e/test_telemetry.py reads them)."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


def wants_telemetry(session: pytest.Session) -> bool:
    """Tracing every message and query costs the stack CPU (a 5,000-record re-drive ran about a
    fifth slower): export only in sessions that collected the telemetry test."""
    return any(item.path.name == "test_telemetry.py" for item in session.items)


@pytest.fixture(scope="session")
def stack(
    app_dsn: str,
    master_keys: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    otlp: OtlpReceiver,
    request: pytest.FixtureRequest,
) -> Iterator[DevStack]:
    config = StackConfig(
        kafka_bootstrap=kafka_bootstrap,
        database_url=app_dsn,
        master_keys=master_keys,
        sage_port=free_port(),
        zoho_port=free_port(),
        agent_port=free_port(),
        poll_interval_seconds=1.0,
        log_dir=Path(tmp_path_factory.mktemp("stack-logs")),
        extra_env=otlp_env(otlp.endpoint) if wants_telemetry(request.session) else {},
    )
    dev = DevStack(config)
    dev.start_emulators()
    try:
        yield dev
    finally:
        dev.stop_all()


@pytest.fixture(scope="session")
def services(stack: DevStack) -> DevStack:
    """The four services, started once; tenants added later are picked up within seconds."""
    stack.start_services()
    return stack


@pytest.fixture(scope="session")
async def sage(stack: DevStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.config.sage_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
async def zoho(stack: DevStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.config.zoho_url, timeout=60) as client:
        yield client


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    what: str,
    stack: DevStack,
    within: float = 120.0,
) -> T:
    """Poll `probe` until `done` holds; on timeout say what was awaited and show the logs."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline or stack.dead():
            logs = "\n".join(f"--- {n}\n{stack.log_tail(n)}" for n in stack.procs)
            raise AssertionError(
                f"timed out waiting for {what}; last value {value!r}; dead: {stack.dead()}\n{logs}"
            )
        await asyncio.sleep(0.5)


async def zoho_records(zoho: httpx.AsyncClient, org: str, module: str) -> list[dict[str, Any]]:
    response = await zoho.get(f"/_emulator/orgs/{org}/records/{module}")
    response.raise_for_status()
    body = response.json()
    return list(body["data"] if isinstance(body, dict) else body)


async def sage_table(sage: httpx.AsyncClient, company: str, name: str) -> list[dict[str, Any]]:
    """A Sage emulator table's rows, as the emulator's control API lists them."""
    response = await sage.get(f"/_emulator/companies/{company}/tables/{name}")
    response.raise_for_status()
    return list(response.json()["records"])


async def zoho_accounts(zoho: httpx.AsyncClient, org: str) -> list[dict[str, Any]]:
    return await zoho_records(zoho, org, "Accounts")


async def audit_rows(pool: asyncpg.Pool, tenant: str, **where: str) -> list[asyncpg.Record]:
    clauses = " AND ".join(f"{column} = ${i}" for i, column in enumerate(where, start=2))
    sql = "SELECT * FROM audit_events WHERE tenant_id = $1" + (f" AND {clauses}" if where else "")
    return list(await pool.fetch(sql + " ORDER BY recorded_at", tenant, *where.values()))


def key_of(row: dict[str, Any]) -> str:
    """A Sage AR_Customer row's source key, '01-ABF'."""
    return f"{row['ARDivisionNo']}-{row['CustomerNo']}"


async def onboard(
    stack: DevStack,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    *,
    tenant: str,
    company: str,
    customers: int,
    seed: int,
    zoho: httpx.AsyncClient | None = None,
    within: float = 600.0,
) -> None:
    """Connect a tenant to the emulators and seed its Sage company; given `zoho`, also wait
    until the initial load is in Zoho (the shared stack may be busy with other tenants) and
    its outcomes are in the audit log: the writer publishes an outcome after the Zoho write,
    so a test that counts outcomes from here on would otherwise take a late initial one for
    the effect of its own change."""
    await connect_tenant(
        pool=pool, keyring=keyring, stack=stack.config, tenant_id=tenant, company=company
    )
    seeded = await sage.post(
        f"/_emulator/companies/{company}/seed",
        json={"count": customers, "seed": seed, "division": "01"},
    )
    assert seeded.status_code == 200, seeded.text
    if zoho is not None:
        await eventually(
            lambda: zoho_accounts(zoho, tenant),
            lambda a: len(a) == customers,
            what=f"{tenant} initial load",
            stack=stack,
            within=within,
        )
        await eventually(
            lambda: outcome_keys(pool, tenant, "succeeded", entity="ar_customer"),
            lambda audited: audited == customers,
            what=f"{tenant} initial load's outcomes in the audit log",
            stack=stack,
            within=within,
        )


async def outcome_keys(
    pool: asyncpg.Pool, tenant: str, *statuses: str, entity: str | None = None
) -> int:
    """How many records (of `entity`, or any) have a write outcome with one of `statuses`."""
    count = await pool.fetchval(
        "SELECT count(DISTINCT source_key) FROM audit_events WHERE tenant_id = $1"
        " AND event_type = 'zoho.write.outcome' AND payload->>'status' = ANY($2)"
        " AND ($3::text IS NULL OR entity = $3)",
        tenant,
        list(statuses),
        entity,
    )
    return int(count)


async def hand_edit(
    pool: asyncpg.Pool,
    keyring: KeyRing,
    zoho: httpx.AsyncClient,
    tenant_id: str,
    record: dict[str, Any],
    module: str = "Accounts",
    match: str = "Sage_Customer_No",
) -> str:
    """Write `record` into Zoho as a person would (not through the connector); its id."""
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    token = await TokenProvider(pool=pool, keyring=keyring, http=zoho).token(tenant)
    reply = await upsert(
        zoho,
        api_domain=token.api_domain,
        access_token=token.value,
        module=module,
        records=[record],
        duplicate_check_fields=[match],
        trigger=[],
    )
    [result] = reply.results
    assert result.ok and result.zoho_id, result
    return result.zoho_id
