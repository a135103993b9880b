"""The demo's counts and failure reasons, read from audit rows on real PostgreSQL: each stage
counted once (the writer's dead letters repeat its failed outcomes), deferred writes unsettled."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from mlc_devtools.demo_view import EntityCounts, failure_reasons, fetch_counts

pytestmark = pytest.mark.integration


async def audit(
    pool: asyncpg.Pool, tenant: str, event_type: str, entity: str, key: str, **payload: Any
) -> None:
    await pool.execute(
        "INSERT INTO audit_events (event_id, event_type, schema_version, tenant_id, entity,"
        " source_key, correlation_id, occurred_at, topic, kafka_partition, kafka_offset, payload)"
        " VALUES ($1, $2, 1, $3, $4, $5, $6, now(), 't', 0, 0, $7)",
        uuid.uuid4(),
        event_type,
        tenant,
        entity,
        key,
        uuid.uuid4(),
        {"event_type": event_type, "source_key": key, **payload},
    )


async def test_each_stage_counted_once_and_failures_grouped_by_reason(
    app_pool: asyncpg.Pool, tenant_id: str
) -> None:
    rows = [
        ("sage.record.changed", "ar_customer", "01-A", {}),
        ("sage.record.changed", "ar_customer", "01-B", {}),
        ("sage.record.changed", "ar_customer", "01-C", {}),
        ("zoho.upsert.requested", "ar_customer", "01-A", {}),
        ("zoho.upsert.requested", "ar_customer", "01-B", {}),
        ("zoho.write.outcome", "ar_customer", "01-A", {"status": "succeeded"}),
        ("zoho.write.outcome", "ar_customer", "01-B", {"status": "failed", "error_code": "BAD"}),
        ("mlc.dead_letter", "ar_customer", "01-B", {"stage": "zoho-writer", "error_code": "BAD"}),
        ("mlc.dead_letter", "ar_customer", "01-C", {"stage": "mapper", "error_class": "MapError"}),
        ("sage.record.changed", "customer_contact", "01-A-MAIN", {}),
        ("zoho.write.outcome", "customer_contact", "01-A-MAIN", {"status": "skipped_unchanged"}),
        ("zoho.write.outcome", "customer_contact", "01-B-MAIN", {"status": "deferred"}),
    ]
    for event_type, entity, key, payload in rows:
        await audit(app_pool, tenant_id, event_type, entity, key, **payload)

    counts = await fetch_counts(app_pool, tenant_id)
    assert counts == {
        "ar_customer": EntityCounts(
            polled=3, mapped=2, written=1, unchanged=0, failed=2, settled=3
        ),
        "customer_contact": EntityCounts(
            polled=1, mapped=0, written=0, unchanged=1, failed=0, settled=1
        ),
    }
    reasons = await failure_reasons(app_pool, tenant_id)
    assert sorted(reasons) == [
        ["ar_customer", "BAD", "1", "01-B"],
        ["ar_customer", "MapError", "1", "01-C"],
    ]
    assert await fetch_counts(app_pool, tenant_id + "x") == {}  # per tenant
