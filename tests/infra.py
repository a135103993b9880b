"""Fixtures on the real PostgreSQL and Kafka that `make test` starts (deploy/local/up.sh).

Each test session gets its own database, migrated from scratch, so runs never see each other's
rows; the application role `mlc_app` is the one services use.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.db import create_pool, migrate

ADMIN_URL = os.environ.get("MLC_DATABASE_ADMIN_URL", "postgresql://mlc_admin@127.0.0.1:55432/mlc")
KAFKA = os.environ.get("MLC_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def with_database(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.split('@')[-1]}"
    return urlunsplit(parts._replace(path=f"/{database}", netloc=netloc))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return KAFKA


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[str]:
    name = f"mlc_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    await migrate(with_database(ADMIN_URL, name))
    yield name
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def admin_dsn(database: str) -> str:
    return with_database(ADMIN_URL, database)


@pytest.fixture(scope="session")
def app_dsn(database: str) -> str:
    return with_database(ADMIN_URL, database, user="mlc_app")


@pytest.fixture(scope="session")
async def app_pool(app_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(app_dsn)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def master_keys() -> str:
    return generate_key_text("test")


@pytest.fixture(scope="session")
def keyring(master_keys: str) -> KeyRing:
    return KeyRing.parse(master_keys)


@pytest.fixture
def tenant_id() -> Iterator[str]:
    yield f"t{uuid.uuid4().hex[:8]}"
