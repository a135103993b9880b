"""Sage poll benchmark (a script, not a test): records/s of an initial and an incremental poll,
and the agent's memory.

    export MLC_KAFKA_BOOTSTRAP=127.0.0.1:19092
    export MLC_DATABASE_ADMIN_URL=postgresql://mlc_admin@127.0.0.1:55432/mlc
    .venv/bin/python bench/sage_poll.py [--customers 100000] [--changed 0.01] [--page 2000]
        [--profile DIR]

Runs the Sage emulator (seeded with --customers AR customers) and the real agent
(mlc-sage-agent, BOI over the emulator's pvxcom stand-in) as separate processes, then polls
AR customers with the poller's own code into the real Kafka and a throwaway PostgreSQL
database: once from scratch, then twice after --changed of the customers were edited (the
first incremental poll also re-reads the initial load's last stamps within the overlap window;
the second is the steady state). Reports records/s, the CPU seconds each process spent per poll
(poller, agent, emulator, and the PostgreSQL and Kafka listening on the given ports), and the
agent's peak resident memory (sampled every 100 ms).

--profile DIR writes cProfile files: DIR/poller-<poll>.prof per poll (in-process), and
DIR/agent.prof and DIR/emulator.prof (each process run under `python -m cProfile`, written
when it exits on SIGINT). Profiling slows every process down: take shares from it, not rates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import signal
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
from sage_poller.handlers import PollIO, poll_entity
from sage_poller.outbox import OutboxRelay
from sage_poller.retry import Retrier
from sage_poller.store import PollerStore

from bench.capacity import listener_pid

TOKEN = "bench-token"  # noqa: S105 - throwaway local agent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ENTRY_POINTS = {"mlc-sage-agent": "sage_agent.main", "mlc-sage-emulator": "sage100_emulator.main"}


def start(
    name: str, args: list[str], env: dict[str, str], profile: Path | None = None
) -> subprocess.Popen[bytes]:
    if profile is None:
        command = [str(Path(sys.executable).parent / name), *args]
    else:
        # A launcher script for `python -m cProfile`: the entry point's run(), argv kept.
        launcher = profile / f"run-{name}.py"
        launcher.write_text(f"from {ENTRY_POINTS[name]} import run\n\nrun()\n")
        out = profile / (name.removeprefix("mlc-sage-") + ".prof")
        command = [sys.executable, "-m", "cProfile", "-o", str(out), str(launcher), *args]
    return subprocess.Popen(command, env={**os.environ, **env})  # noqa: S603


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
    CPU second of the busiest process is the rate with one free core per process.
    PostgreSQL counts its server processes (the poller's pooled backends among them, which
    live through a poll); Kafka its broker JVM."""

    def __init__(self, pids: dict[str, int], *, with_children: frozenset[str]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.with_children = with_children
        self.before: dict[str, dict[int, float]] = {}

    def _now(self) -> dict[str, dict[int, float]]:
        seen: dict[str, dict[int, float]] = {}
        for name, process in self.processes.items():
            family = [process]
            if name in self.with_children:
                family += process.children(recursive=True)
            seen[name] = {}
            for member in family:
                with contextlib.suppress(psutil.Error):  # a backend that just exited
                    seen[name][member.pid] = sum(member.cpu_times()[:2])
        return seen

    def start(self) -> None:
        self.before = self._now()

    def report(self, records: int, wall: float) -> str:
        spent = {
            name: sum(t - self.before[name].get(pid, 0.0) for pid, t in times.items())
            for name, times in self._now().items()
        }
        parts = ", ".join(f"{n} {s:.1f}s" for n, s in spent.items())
        ours = {n: s for n, s in spent.items() if n in ("poller", "agent", "emulator")}
        busiest = max(ours.values()) or 1e-9
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
    bootstrap_port = int(bootstrap.split(",")[0].rsplit(":", 1)[-1])
    sage_port, agent_port = free_port(), free_port()
    emulator = start(
        "mlc-sage-emulator",
        ["--port", str(sage_port), "--seed-count", str(args.customers), "--log-level", "warning"],
        {},
        args.profile,
    )
    agent_env = {
        "MLC_AGENT_TOKEN": TOKEN,
        "MLC_AGENT_COMPANIES": "*",
        "MLC_AGENT_PLAIN_HTTP": "true",
        "MLC_AGENT_BOI": "emulator",
        "MLC_AGENT_EMULATOR_URL": f"http://127.0.0.1:{sage_port}",
        "MLC_AGENT_HOST": "127.0.0.1",
        "MLC_AGENT_PORT": str(agent_port),
        "MLC_AGENT_SAGE_USER": "MLCAGENT",
        "MLC_AGENT_SAGE_PASSWORD": "sage100",
        "MLC_AGENT_LOG_LEVEL": "WARNING",
    }
    agent = start("mlc-sage-agent", [], agent_env, args.profile)
    name = f"mlc_bench_{uuid.uuid4().hex[:8]}"
    try:
        t0 = time.monotonic()
        wait(f"http://127.0.0.1:{sage_port}/v1/health")
        wait(f"http://127.0.0.1:{agent_port}/v1/health")
        print(f"emulator seeded with {args.customers} customers in {time.monotonic() - t0:.1f}s")
        pids = {"poller": os.getpid(), "agent": agent.pid, "emulator": emulator.pid}
        for service, port in (("postgres", urlsplit(admin_url).port), ("kafka", bootstrap_port)):
            pid = listener_pid(port or 5432)
            if pid is not None:
                pids[service] = pid
        await run_polls(args, name, admin_url, bootstrap, sage_port, agent_port, pids)
    finally:
        for proc in (agent, emulator):
            # uvicorn re-raises the signal after its shutdown; SIGINT becomes a
            # KeyboardInterrupt, which lets cProfile write its file on the way out.
            proc.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
            proc.wait(timeout=60)
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
    cpu = CpuMeter(pids, with_children=frozenset({"postgres"}))
    sampler = asyncio.create_task(rss.run())
    async with httpx.AsyncClient(timeout=600) as http:
        client = SageAgentClient(http, base_url=tenant.config.sage.agent_url, token=TOKEN)

        async def poll(label: str) -> None:
            profiler = cProfile.Profile() if args.profile else None
            started = time.monotonic()
            cpu.start()
            if profiler is not None:
                profiler.enable()
            io = PollIO(
                agent=client,
                store=PollerStore(pool),
                outbox=OutboxRelay(pool, publisher),
                retrier=Retrier(tenant.tenant_id, Entity.AR_CUSTOMER, publisher),
                page_size=args.page,
            )
            result = await poll_entity(
                tenant=tenant, entity=Entity.AR_CUSTOMER, io=io, overlap_seconds=120
            )
            spent = time.monotonic() - started
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile / f"poller-{label.split(' (')[0]}.prof")
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
    parser.add_argument("--profile", type=Path, default=None, help="directory for cProfile files")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
