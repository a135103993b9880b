"""`mlc replay` reports its progress on stderr (plain lines off a terminal), keeping stdout for
the one-line result; on real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid

import asyncpg
import pytest
from mlc_core.contracts import Entity, SageRecordChanged
from mlc_devtools.devstack import script

pytestmark = pytest.mark.integration


async def store_raw(pool: asyncpg.Pool, tenant: str, key: str) -> None:
    event = SageRecordChanged(
        tenant_id=tenant,
        correlation_id=uuid.uuid4(),
        entity=Entity.AR_CUSTOMER,
        source_key=key,
        company_code="ABC",
        source_version="20260101 10.0000000",
        record={"ARDivisionNo": "01", "CustomerNo": key[3:], "CustomerName": "Progress Ltd"},
    )
    await pool.execute(
        "INSERT INTO audit_events (event_id, event_type, schema_version, tenant_id, entity,"
        " source_key, correlation_id, occurred_at, topic, kafka_partition, kafka_offset, payload)"
        " VALUES ($1, $2, 1, $3, $4, $5, $6, $7, 'mlc.sage.changes', 0, 0, $8)",
        event.event_id,
        event.event_type,
        tenant,
        event.entity,
        key,
        event.correlation_id,
        event.occurred_at,
        json.loads(event.model_dump_json()),
    )


async def test_replay_shows_progress_on_stderr(
    app_pool: asyncpg.Pool, app_dsn: str, kafka_bootstrap: str, tenant_id: str
) -> None:
    for n in range(3):
        await store_raw(app_pool, tenant_id, f"01-P{n:05d}")
    env = {**os.environ, "MLC_DATABASE_URL": app_dsn, "MLC_KAFKA_BOOTSTRAP": kafka_bootstrap}
    done = await asyncio.to_thread(
        subprocess.run,
        [script("mlc"), "replay", "--tenant", tenant_id, "--from", "raw"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == f"re-published 3 event(s) for tenant {tenant_id}: 3 raw, 0 command(s)"
    )
    progress = [line for line in done.stderr.splitlines() if line.startswith("re-publishing:")]
    assert progress and progress[-1].startswith("re-publishing: 3/3 events (100%)")
    assert "\x1b" not in done.stderr
