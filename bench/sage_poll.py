"""Sage poll benchmark (a script, not a test): records/s of an initial and an incremental poll,
and the agent's memory.

    export MLC_KAFKA_BOOTSTRAP=127.0.0.1:19092
    export MLC_DATABASE_ADMIN_URL=postgresql://mlc_admin@127.0.0.1:55432/mlc
    .venv/bin/python bench/sage_poll.py [--customers 100000] [--changed 0.01] [--page 2000]

Runs the Sage emulator (seeded with --customers AR customers) and the real agent
(mlc-sage-agent, BOI over the emulator's pvxcom stand-in) as separate processes, then polls
AR customers with the poller's own code into the real Kafka and a throwaway PostgreSQL
database: once from scratch, then twice after --changed of the customers were edited (the
first incremental poll also re-reads the initial load's last stamps within the overlap window;
the second is the steady state). Reports records/s and the agent's peak resident memory
(sampled every 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool, migrate
from mlc_core.kafka import Publisher, create_producer, ensure_topics
from mlc_core.sage.agent import SageAgentClient
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from pydantic import SecretStr
from sage_poller.handlers import poll_entity
from sage_poller.outbox import OutboxRelay
from sage_poller.retry import Retrier
from sage_poller.store import PollerStore

TOKEN = "bench-token"  # noqa: S105 - throwaway local agent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    exe = str(Path(sys.executable).parent / name)
    return subprocess.Popen([exe, *args], env={**os.environ, **env})  # noqa: S603


def wait(url: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not come up")


class CpuMeter:
    """CPU seconds each process spent in a poll. On a shared, loaded machine wall time mostly
    measures the neighbours; CPU time per record says what the code costs, and records per
    CPU second of the busiest process is the rate with one free core per process."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {n: sum(p.cpu_times()[:2]) for n, p in self.processes.items()}

    def start(self) -> None:
        self.before = self._now()

    def report(self, records: int, wall: float) -> str:
        spent = {n: t - self.before[n] for n, t in self._now().items()}
        parts = ", ".join(f"{n} {s:.1f}s" for n, s in spent.items())
        busiest = max(spent.values()) or 1e-9
        return (
            f"CPU: {parts} (sum {sum(spent.values()):.1f}s over {wall:.1f}s wall);"
            f" {records / busiest:,.0f} records per CPU-second of the busiest process"
        )


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.process, self.peak, self._stop = psutil.Process(pid), 0, False

    async def run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        self._stop = True


async def bench(args: argparse.Namespace) -> None:
    admin_url = os.environ["MLC_DATABASE_ADMIN_URL"]
    bootstrap = os.environ.get("MLC_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    sage_port, agent_port = free_port(), free_port()
    emulator = start(
        "mlc-sage-emulator",
        ["--port", str(sage_port), "--seed-count", str(args.customers), "--log-level", "warning"],
        {},
    )
    agent_env = {
        "MLC_AGENT_TOKEN": TOKEN,
        "MLC_AGENT_BOI": "emulator",
        "MLC_AGENT_EMULATOR_URL": f"http://127.0.0.1:{sage_port}",
        "MLC_AGENT_HOST": "127.0.0.1",
        "MLC_AGENT_PORT": str(agent_port),
        "MLC_AGENT_SAGE_USER": "MLCAGENT",
        "MLC_AGENT_SAGE_PASSWORD": "sage100",
        "MLC_AGENT_LOG_LEVEL": "WARNING",
    }
    agent = start("mlc-sage-agent", [], agent_env)
    name = f"mlc_bench_{uuid.uuid4().hex[:8]}"
    try:
        t0 = time.monotonic()
        wait(f"http://127.0.0.1:{sage_port}/v1/health")
        wait(f"http://127.0.0.1:{agent_port}/v1/health")
        print(f"emulator seeded with {args.customers} customers in {time.monotonic() - t0:.1f}s")
        pids = {"poller": os.getpid(), "agent": agent.pid, "emulator": emulator.pid}
        await run_polls(args, name, admin_url, bootstrap, sage_port, agent_port, pids)
    finally:
        for proc in (agent, emulator):
            proc.terminate()
            proc.wait(timeout=30)
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_polls(
    args: argparse.Namespace,
    name: str,
    admin_url: str,
    bootstrap: str,
    sage_port: int,
    agent_port: int,
    pids: dict[str, int],
) -> None:
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    parts = urlsplit(admin_url)
    await migrate(urlunsplit(parts._replace(path=f"/{name}")))
    app_url = urlunsplit(
        parts._replace(path=f"/{name}", netloc="mlc_app@" + parts.netloc.split("@")[-1])
    )
    pool = await create_pool(app_url)
    keyring = KeyRing.parse(generate_key_text("bench"))
    tenant = Tenant(
        tenant_id=f"bench{uuid.uuid4().hex[:6]}",
        display_name="bench",
        config=TenantConfig(
            sage=SageConfig(company_code="ABC", agent_url=f"http://127.0.0.1:{agent_port}"),
            zoho=ZohoConfig(accounts_url="http://127.0.0.1:9", client_id="unused"),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr(TOKEN),
            zoho_client_secret=SecretStr("unused"),
            zoho_refresh_token=SecretStr("unused"),
        ),
    )
    await add_tenant(pool, keyring=keyring, tenant=tenant)
    await ensure_topics(bootstrap, partitions=6)
    producer = create_producer(bootstrap, client_id="bench-sage-poller")
    await producer.start()
    publisher = Publisher(producer)
    rss = PeakRss(pids["agent"])
    cpu = CpuMeter(pids)
    sampler = asyncio.create_task(rss.run())
    async with httpx.AsyncClient(timeout=600) as http:
        client = SageAgentClient(http, base_url=tenant.config.sage.agent_url, token=TOKEN)

        async def poll(label: str) -> None:
            started = time.monotonic()
            cpu.start()
            result = await poll_entity(
                tenant=tenant,
                entity=Entity.AR_CUSTOMER,
                agent=client,
                store=PollerStore(pool),
                outbox=OutboxRelay(pool, publisher),
                overlap_seconds=120,
                retrier=Retrier(tenant.tenant_id, Entity.AR_CUSTOMER, publisher),
                page_size=args.page,
            )
            spent = time.monotonic() - started
            read, emitted = result.seen / spent, result.emitted / spent
            print(
                f"{label}: {result.seen} read, {result.emitted} emitted in {spent:.1f}s"
                f" = {read:,.0f} records/s read, {emitted:,.0f}/s emitted"
            )
            print(f"  {cpu.report(result.seen, spent)}; load average {os.getloadavg()[0]:.1f}")

        await poll("initial poll")
        changed = int(args.customers * args.changed)
        sage = f"http://127.0.0.1:{sage_port}"
        for round_no in (1, 2):
            await http.post(f"{sage}/_emulator/clock", json={"advance_seconds": 900})
            await http.post(
                f"{sage}/_emulator/companies/ABC/ar_customers/touch",
                json={"random": changed, "seed": round_no},
            )
            await poll(f"incremental poll {round_no} ({changed} changed)")
    rss.stop()
    await sampler
    print(f"agent peak RSS: {rss.peak / 2**20:,.0f} MiB")
    await producer.stop()
    await pool.close()


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--page", type=int, default=2000)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
