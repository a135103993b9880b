"""After an end-to-end run, no secret it used appears in service logs, on any Kafka topic, or in a
dump of the database (pg_dump): they exist only encrypted, and in memory."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from mlc_core.crypto import KeyRing
from mlc_core.tenants import load_tenant
from mlc_devtools.devstack import SERVICES, DevStack
from mlc_devtools.emulated import DEMO_CLIENT_SECRET, connect_tenant

from tests.e2e.conftest import eventually, zoho_accounts

TENANT, COMPANY = "secretive", "SEC"


async def used_secrets(pool: asyncpg.Pool, keyring: KeyRing, master_keys: str) -> dict[str, str]:
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=TENANT)
    row = await pool.fetchrow("SELECT access_token FROM zoho_tokens WHERE tenant_id = $1", TENANT)
    assert row is not None, "the writer never stored an access token"
    access = keyring.decrypt(row["access_token"], aad=f"tenant:{TENANT}:zoho-access-token")
    return tenant.secrets.plain() | {
        "zoho_access_token": access.decode(),
        "master_key": master_keys.split(":", 1)[1],
    }


def forms(secret: str) -> list[bytes]:
    """The secret as text, and as pg_dump writes bytea (hex) and as base64 would show it."""
    raw = secret.encode()
    return [raw, raw.hex().encode(), base64.b64encode(raw).rstrip(b"=")]


async def kafka_bytes(bootstrap: str) -> bytes:
    """Every key, value and header of every message on every topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        return await _drain(consumer, await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _drain(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bytes:
    chunks: list[bytes] = []
    remaining = {tp for tp, end in ends.items() if end > 0}
    while remaining:
        batches = await consumer.getmany(timeout_ms=1000)
        for tp, records in batches.items():
            for r in records:
                chunks += [r.key or b"", r.value or b""] + [v for _, v in r.headers or ()]
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
    return b"\n".join(chunks)


def database_dump(admin_dsn: str) -> bytes:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump not installed")
    done = subprocess.run([pg_dump, "--dbname", admin_dsn], capture_output=True, check=True)
    assert b"CREATE TABLE" in done.stdout and b"tenants" in done.stdout
    return done.stdout


async def test_no_secret_in_logs_kafka_or_database(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    master_keys: str,
    admin_dsn: str,
    kafka_bootstrap: str,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    await connect_tenant(
        pool=app_pool, keyring=keyring, stack=services.config, tenant_id=TENANT, company=COMPANY
    )
    await sage.post(f"/_emulator/companies/{COMPANY}/seed", json={"count": 30, "seed": 11})
    await eventually(
        lambda: zoho_accounts(zoho, TENANT),
        lambda a: len(a) >= 30,
        what="30 accounts",
        stack=services,
    )
    secrets = await used_secrets(app_pool, keyring, master_keys)
    assert secrets["zoho_client_secret"] == DEMO_CLIENT_SECRET
    assert len(secrets) >= 5

    places = {f"log {n}": (services.config.log_dir / f"{n}.log").read_bytes() for n in SERVICES}
    assert sum(map(len, places.values())) > 0, "the services logged something"
    places["kafka"] = await kafka_bytes(kafka_bootstrap)
    places["pg_dump"] = await asyncio.to_thread(database_dump, admin_dsn)
    assert TENANT.encode() in places["kafka"] and TENANT.encode() in places["pg_dump"]

    leaks = [
        f"{name} in {place}"
        for name, value in secrets.items()
        for place, content in places.items()
        if any(form in content for form in forms(value))
    ]
    assert leaks == []
