"""`mlc status` on real PostgreSQL and Kafka: watermark, writes and failures, events waiting."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest
from mlc_cli.status import consumer_lag
from mlc_core.contracts import (
    Entity,
    OutcomeStatus,
    Topics,
    ZohoWriteOutcome,
)
from mlc_core.crypto import KeyRing
from mlc_core.kafka import create_producer, ensure_topics
from mlc_core.tenants import add_tenant

from tests.cli.emulator_fixtures import mlc
from tests.cli.test_keys_rotate import a_tenant

pytestmark = pytest.mark.integration


def outcome(tenant_id: str, key: str, status: OutcomeStatus) -> ZohoWriteOutcome:
    return ZohoWriteOutcome(
        tenant_id=tenant_id,
        correlation_id=uuid.uuid4(),
        entity=Entity.AR_CUSTOMER,
        source_key=key,
        module="Accounts",
        external_value=key,
        source_version="20260101 10.0000000",
        status=status,
    )


async def audit(pool: asyncpg.Pool, event: ZohoWriteOutcome) -> None:
    await pool.execute(
        "INSERT INTO audit_events (event_id, event_type, schema_version, tenant_id, entity,"
        " source_key, correlation_id, occurred_at, topic, kafka_partition, kafka_offset, payload)"
        " VALUES ($1, $2, 1, $3, $4, $5, $6, $7, 'mlc.zoho.outcomes', 0, 0, $8)",
        event.event_id,
        event.event_type,
        event.tenant_id,
        event.entity,
        event.source_key,
        event.correlation_id,
        event.occurred_at,
        json.loads(event.model_dump_json()),
    )


async def test_status_shows_watermark_writes_failures_and_lag(
    app_dsn: str,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    master_keys: str,
    kafka_bootstrap: str,
    tenant_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await add_tenant(app_pool, keyring=keyring, tenant=a_tenant(tenant_id))
    await app_pool.execute(
        "INSERT INTO poller_watermarks (tenant_id, entity, stamp_date, stamp_hours)"
        " VALUES ($1, 'ar_customer', '20260105', 13.5)",
        tenant_id,
    )
    for i, status in enumerate([OutcomeStatus.SUCCEEDED] * 3 + [OutcomeStatus.FAILED]):
        await audit(app_pool, outcome(tenant_id, f"01-{i:07d}", status))
    await ensure_topics(kafka_bootstrap, partitions=2)
    producer = create_producer(kafka_bootstrap, client_id="status-test")
    await producer.start()
    try:  # two commands nobody has consumed yet: the writer's group must show them waiting
        for i in range(2):
            await producer.send_and_wait(Topics.ZOHO_COMMANDS, f"{tenant_id}-{i}".encode())
    finally:
        await producer.stop()

    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", master_keys)
    monkeypatch.setenv("MLC_KAFKA_BOOTSTRAP", kafka_bootstrap)
    await mlc("status", tenant_id, "--json", "--no-zoho")
    status = json.loads(capsys.readouterr().out)
    [row] = status["entities"]
    assert (row["tenant"], row["entity"]) == (tenant_id, "ar_customer")
    assert row["watermark"] == "20260105 13.5000h" and row["last_poll"]
    assert (row["written_24h"], row["failed_24h"]) == (3, 1)
    assert (row["waiting"], row["poll_failures"]) == (0, 0)
    assert set(status["events_waiting"]) == {"mlc-mapper", "mlc-zoho-writer", "mlc-audit"}
    assert all(isinstance(n, int) and n >= 0 for n in status["events_waiting"].values())
    # A group that has committed nothing has every message of its topic waiting.
    fresh = f"status-test-{tenant_id}"
    lag = await consumer_lag(kafka_bootstrap, {fresh: Topics.ZOHO_COMMANDS})
    assert lag[fresh] >= 2

    await mlc("status", tenant_id)
    text = capsys.readouterr().out
    assert tenant_id in text and "events waiting: mlc-mapper=" in text
    assert "zoho credits left: " + tenant_id + "=unknown (no live token)" in text


async def test_status_shows_waiting_records_failing_polls_and_stored_credits(
    app_dsn: str,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    master_keys: str,
    kafka_bootstrap: str,
    tenant_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await add_tenant(app_pool, keyring=keyring, tenant=a_tenant(tenant_id))
    # A vendor feed that never polled successfully: no watermark, but it must show.
    await app_pool.execute(
        "INSERT INTO poller_status (tenant_id, entity, last_failure_at, last_error,"
        " consecutive_failures) VALUES ($1, 'ap_vendor', now(), 'agent unreachable', 4)",
        tenant_id,
    )
    # Customers polled: 4.2 s, 3.5 of them on Sage, begun 0.3 s after they were due.
    await app_pool.execute(
        "INSERT INTO poller_status (tenant_id, entity, last_success_at, last_poll_started_at,"
        " last_poll_seconds, last_poll_sage_seconds, last_poll_late_seconds)"
        " VALUES ($1, 'ar_customer', now(), now(), 4.2, 3.5, 0.3)",
        tenant_id,
    )
    for key, outcome_status in (("01-A", None), ("01-B", "deferred"), ("01-C", "succeeded")):
        await app_pool.execute(
            "INSERT INTO audit_records (tenant_id, entity, source_key, last_outcome)"
            " VALUES ($1, 'ar_customer', $2, $3)",
            tenant_id,
            key,
            outcome_status,
        )
    await app_pool.execute(
        "INSERT INTO writer_tenant_state (tenant_id, credits_remaining, credits_seen_at,"
        " reconnect_since, reconnect_error)"
        " VALUES ($1, 4321, now(), now(), 'refresh token revoked')",
        tenant_id,
    )
    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", master_keys)
    monkeypatch.setenv("MLC_KAFKA_BOOTSTRAP", kafka_bootstrap)
    await mlc("status", tenant_id, "--json")
    status = json.loads(capsys.readouterr().out)
    rows = {r["entity"]: r for r in status["entities"]}
    assert rows["ap_vendor"]["poll_failures"] == 4 and rows["ap_vendor"]["last_poll"] is None
    assert rows["ap_vendor"]["poll_error"] == "agent unreachable"
    assert rows["ar_customer"]["waiting"] == 2  # no outcome yet, and kept by the writer
    took = [rows["ar_customer"][f] for f in ("poll_seconds", "poll_sage_seconds")]
    assert took == pytest.approx([4.2, 3.5]) and rows["ap_vendor"]["poll_seconds"] is None
    assert status["zoho_credits_left"][tenant_id].startswith("4321 (as of ")
    assert "refresh token revoked" in status["zoho_holds"][tenant_id]

    await mlc("status", tenant_id, "--no-zoho")
    text = capsys.readouterr().out
    assert "WAITING" in text and "POLL FAILURES" in text
    assert "4 in a row: agent unreachable" in text
    assert "4.2 s (3.5 on Sage), 0.3 s late" in text
    assert f"zoho hold {tenant_id}: reconnect Zoho since " in text
