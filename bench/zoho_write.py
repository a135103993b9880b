"""Benchmark (not a test): N changed records through the Zoho writer, against its ceiling.

    export MLC_KAFKA_BOOTSTRAP=… MLC_DATABASE_ADMIN_URL=…     # deploy/local/up.sh prints them
    .venv/bin/python bench/zoho_write.py --records 50000 --latency-ms 200 --edition enterprise

It makes a throwaway database, starts the Zoho emulator (every CRM call delayed by
--latency-ms while it holds one of the org's concurrency slots) and one `mlc-zoho-writer`
process, produces N upsert commands to Kafka, and waits until the emulator holds every record.
It reports Zoho calls and credits (the floor is 1 call per 100 records, 10 credits per call),
the wall time against the ceiling the edition allows (calls / min(edition concurrency, 10)
rounds of one latency each), and the writer's peak memory (RSS, sampled every 0.2 s).
Run it on a Kafka with no other writer traffic (the writer's consumer group reads the whole
command topic), and purge that Kafka afterwards (`deploy/local/down.sh --purge`): the N
commands and outcomes stay in its topics, and an audit service started later reads them all.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil
from mlc_core.contracts import Entity, Topics, ZohoUpsertCommand, encode
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool, migrate
from mlc_core.kafka import create_producer, ensure_topics
from mlc_devtools.devstack import StackConfig, script, wait_http
from mlc_devtools.emulated import connect_tenant

EDITION_CONCURRENCY = {
    "free": 5,
    "standard": 10,
    "professional": 15,
    "enterprise": 20,
    "ultimate": 25,
}
TENANT = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, name: str, user: str | None = None) -> str:
    base, _, _ = url.rpartition("/")
    if user:
        scheme, _, rest = base.partition("://")
        base = f"{scheme}://{user}@{rest.split('@')[-1]}"
    return f"{base}/{name}"


def commands(count: int) -> list[ZohoUpsertCommand]:
    version = "20261126 09.000000"
    out = []
    for i in range(count):
        key = f"01-{i:07d}"
        event = uuid.uuid4()
        out.append(
            ZohoUpsertCommand(
                tenant_id=TENANT,
                correlation_id=event,
                entity=Entity.AR_CUSTOMER,
                source_key=key,
                module="Accounts",
                external_field="Sage_Customer_No",
                external_value=key,
                source_version=version,
                record={
                    "Account_Name": f"Customer {i}",
                    "Sage_Customer_No": key,
                    "Phone": f"(312) 555-{i % 10000:04d}",
                    "Billing_City": "Chicago",
                },
            )
        )
    return out


async def produce(bootstrap: str, items: list[ZohoUpsertCommand]) -> None:
    producer = create_producer(bootstrap, client_id="bench")
    await producer.start()
    try:
        for start in range(0, len(items), 5000):
            sends = [
                await producer.send(Topics.ZOHO_COMMANDS, encode(c), key=c.kafka_key)
                for c in items[start : start + 5000]
            ]
            await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def wait_written(
    zoho: httpx.AsyncClient, count: int, writer: psutil.Process
) -> tuple[int, float]:
    """Wait until the emulator holds `count` accounts; returns the writer's peak RSS and the
    seconds from the first record written to the last (the consumer group join excluded)."""
    peak, first = 0, 0.0
    while True:
        peak = max(peak, writer.memory_info().rss)
        stats = (await zoho.get(f"/_emulator/orgs/{TENANT}/stats")).json()
        held = stats["records"].get("Accounts", 0)
        if held and not first:
            first = time.monotonic()
        if held >= count:
            return peak, time.monotonic() - first
        await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> None:
    admin = os.environ["MLC_DATABASE_ADMIN_URL"]
    bootstrap = os.environ["MLC_KAFKA_BOOTSTRAP"]
    database = f"mlc_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{database}"')
    await conn.close()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await migrate(with_database(admin, database))
        await run(args, with_database(admin, database, "mlc_app"), bootstrap, procs)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.close()


async def run(
    args: argparse.Namespace, app_dsn: str, bootstrap: str, procs: list[subprocess.Popen[bytes]]
) -> None:
    keys = generate_key_text("bench")
    port = free_port()
    log = Path(args.log_dir)
    procs.append(
        subprocess.Popen(  # noqa: S603, ASYNC220 - our own console script, started once
            [script("mlc-zoho-emulator"), "--port", str(port), "--log-level", "warning"],
            stdout=(log / "zoho-emulator.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
    )
    wait_http(f"http://127.0.0.1:{port}/_emulator/health")
    pool = await create_pool(app_dsn)
    await connect_tenant(
        pool=pool, keyring=KeyRing.parse(keys), stack=StackConfig(zoho_port=port), tenant_id=TENANT
    )
    await pool.close()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as zoho:
        await zoho.post(f"/_emulator/orgs/{TENANT}/settings", json={"edition": args.edition})
        await zoho.post("/_emulator/faults", json={"org": TENANT, "latency_ms": args.latency_ms})
        await ensure_topics(bootstrap, partitions=6)
        items = commands(args.records)
        await produce(bootstrap, items)
        del items
        env = dict(
            os.environ,
            MLC_DATABASE_URL=app_dsn,
            MLC_MASTER_KEYS=keys,
            MLC_WRITER_DEFAULT_EDITION=args.edition,
            MLC_LOG_LEVEL="WARNING",
        )
        started = time.monotonic()
        writer = subprocess.Popen(  # noqa: S603, ASYNC220 - our own console script
            [script("mlc-zoho-writer")],
            env=env,
            stdout=(log / "zoho-writer.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        procs.append(writer)
        peak, writing = await wait_written(zoho, args.records, psutil.Process(writer.pid))
        wall = time.monotonic() - started
        stats = (await zoho.get(f"/_emulator/orgs/{TENANT}/stats")).json()
    report(args, stats, (wall, writing), peak)


def report(
    args: argparse.Namespace, stats: dict[str, object], times: tuple[float, float], peak: int
) -> None:
    wall, writing = times
    limits = stats["limits"]
    assert isinstance(limits, dict)
    calls = stats["calls"]
    assert isinstance(calls, dict)
    floor = math.ceil(args.records / 100)
    slots = min(EDITION_CONCURRENCY[args.edition], 10)
    ceiling = math.ceil(floor / slots) * args.latency_ms / 1000
    print(f"records          {args.records}")
    print(f"edition          {args.edition} (concurrency {slots} for 100-record writes)")
    print(f"latency          {args.latency_ms} ms per call")
    print(f"Zoho calls       {calls['total']} (floor {floor}; by module {calls['by_module']})")
    print(f"credits used     {limits['credits_used_total']} (floor {floor * 10})")
    print(f"429 answers      {limits['rejected_concurrency'] + limits['rejected_sub_concurrency']}")
    print(f"max in flight    {limits['max_in_flight']}")
    print(f"wall time        {wall:.1f} s from writer start (Kafka group join included)")
    print(f"writing time     {writing:.1f} s first to last record (ceiling {ceiling:.1f} s;")
    print(f"                 the writer reaches {ceiling / max(writing, 1e-9):.0%} of it)")
    print(f"writer peak RSS  {peak / 2**20:.0f} MiB")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--edition", default="enterprise", choices=sorted(EDITION_CONCURRENCY))
    parser.add_argument("--log-dir", default=".local/bench-logs")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    Path(arguments.log_dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments))
