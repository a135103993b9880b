"""One record change's trace in a real OpenTelemetry backend: the four services export OTLP to
Jaeger (deploy/local/jaeger.sh, built once from the Go module proxy), and Jaeger's query API
finds the record's trace with spans from sage-poller, mapper, zoho-writer and audit.

Slow (not in `make test`): the first run builds Jaeger (minutes). Run it alone, on the local
Kafka and PostgreSQL (`deploy/local/up.sh` first, with the exports it prints):

    .venv/bin/pytest -m slow tests/e2e/test_jaeger_traces.py

It starts its own stack of services pointed at Jaeger, so don't collect it with the other e2e
tests (their stack would share the services' consumer groups and take part of the spans).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack, StackConfig

from tests.e2e.conftest import eventually, free_port, onboard
from tests.e2e.otlp_receiver import otlp_env

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
TENANT, COMPANY = "jaeger", "JGR"
SERVICES = {"sage-poller", "mapper", "zoho-writer", "audit"}


def free_pair() -> int:
    """A port whose predecessor is free too (jaeger.sh puts the gRPC twin on port - 1)."""
    while True:
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port - 1))
            except OSError:
                continue
        return port


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Jaeger's query URL and OTLP/HTTP endpoint, on free ports, stopped afterwards."""
    env = {
        **os.environ,
        "MLC_STATE_DIR": str(tmp_path_factory.mktemp("jaeger-state")),
        "MLC_JAEGER_OTLP_PORT": str(free_pair()),
        "MLC_JAEGER_UI_PORT": str(free_pair()),
    }
    script = str(ROOT / "deploy" / "local" / "jaeger.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines()
    )
    try:
        yield exports["MLC_JAEGER_URL"], exports["OTEL_EXPORTER_OTLP_ENDPOINT"]
    finally:
        subprocess.run([script, "stop"], env=env, check=False)


@pytest.fixture(scope="module")
def traced_stack(
    jaeger: tuple[str, str],
    app_dsn: str,
    master_keys: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DevStack]:
    config = StackConfig(
        kafka_bootstrap=kafka_bootstrap,
        database_url=app_dsn,
        master_keys=master_keys,
        sage_port=free_port(),
        zoho_port=free_port(),
        agent_port=free_port(),
        poll_interval_seconds=1.0,
        log_dir=Path(tmp_path_factory.mktemp("jaeger-stack-logs")),
        extra_env=otlp_env(jaeger[1]) | {"OTEL_METRICS_EXPORTER": "none"},  # Jaeger: traces
    )
    stack = DevStack(config)
    stack.start_emulators()
    try:
        stack.start_services()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(scope="module")
async def query(jaeger: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=jaeger[0], timeout=30) as client:
        yield client


async def traces_of(query: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    """Jaeger's search: the poller's traces whose spans carry this record's key and tenant."""
    found = await query.get(
        "/api/traces",
        params={
            "service": "sage-poller",
            "tags": json.dumps({"mlc.source_key": key, "mlc.tenant": TENANT}),
            "lookback": "1h",
            "limit": "50",
        },
    )
    found.raise_for_status()
    return list(found.json()["data"] or [])


async def services_and_keys(query: httpx.AsyncClient, trace_id: str) -> tuple[set[str], set[str]]:
    """The services with spans in one trace, and the record keys its spans name, as Jaeger's
    trace API returns it."""
    got = await query.get(f"/api/traces/{trace_id}")
    got.raise_for_status()
    [trace] = got.json()["data"]
    processes = trace["processes"]
    services = {processes[span["processID"]]["serviceName"] for span in trace["spans"]}
    keys = {
        str(tag["value"])
        for span in trace["spans"]
        for tag in span["tags"]
        if tag["key"] == "mlc.source_key"
    }
    return services, keys


async def test_jaeger_finds_one_records_trace_across_the_four_services(
    traced_stack: DevStack,
    query: httpx.AsyncClient,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
) -> None:
    async with (
        httpx.AsyncClient(base_url=traced_stack.config.sage_url, timeout=60) as sage,
        httpx.AsyncClient(base_url=traced_stack.config.zoho_url, timeout=60) as zoho,
    ):
        await onboard(
            traced_stack,
            app_pool,
            keyring,
            sage,
            tenant=TENANT,
            company=COMPANY,
            customers=10,
            seed=7,
            zoho=zoho,
        )
        accounts = (await zoho.get(f"/_emulator/orgs/{TENANT}/records/Accounts")).json()
        rows = accounts["data"] if isinstance(accounts, dict) else accounts
        key = sorted(a["Sage_Customer_No"] for a in rows)[3]
        edit = {"ARDivisionNo": key[:2], "CustomerNo": key[3:], "City": "Jaegerville"}
        stored = await sage.post(
            f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": [edit]}
        )
        assert stored.status_code == 200, stored.text

    async def traces_now() -> dict[str, tuple[set[str], set[str]]]:
        ids = {t["traceID"] for t in await traces_of(query, key)}
        return {trace_id: await services_and_keys(query, trace_id) for trace_id in ids}

    traces = await eventually(
        traces_now,
        lambda found: any(services >= SERVICES for services, _ in found.values()),
        what=f"a trace of {key} with spans from {sorted(SERVICES)} in Jaeger",
        stack=traced_stack,
        within=180.0,
    )
    complete = [keys for services, keys in traces.values() if services >= SERVICES]
    # One trace per record change: no other record's spans in it.
    assert any(keys == {key} for keys in complete), complete
