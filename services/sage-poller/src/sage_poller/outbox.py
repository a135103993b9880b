"""Transactional outbox: the watermark moves in the same PostgreSQL transaction as the events.

Why an outbox and not a Kafka transaction: the watermark and the content hashes live in
PostgreSQL, so a Kafka transaction alone could not make "events sent" and "watermark moved" one
atomic step (it would need the watermark stored in Kafka, or a two-phase commit across both).
With the outbox, a poll page writes its events, versions and new watermark in one PostgreSQL
transaction (`PollerStore.commit_page`); `OutboxRelay.drain` then publishes the rows in id order
with the idempotent producer and deletes them only after Kafka acknowledged them. A crash
between the commit and the publish leaves the rows for the next drain (every poller tick drains
first); a crash between the acks and the delete publishes them again: at least once, with the
same deterministic event ids, which the audit log, mapper and writer handle idempotently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import asyncpg
from mlc_core.contracts import Envelope, decode, encode
from mlc_core.kafka import Publisher
from mlc_core.logging import ctx

if TYPE_CHECKING:
    from mlc_core.db import Connection

log = logging.getLogger(__name__)
# Advisory-lock namespace: one relay per tenant at a time keeps the tenant's events in order
# even with several poller replicas.
OUTBOX_LOCK_CLASS = 0x5A6E


async def enqueue(
    conn: Connection, tenant_id: str, entity: str, events: Sequence[tuple[str, Envelope]]
) -> None:
    """Add events to the outbox inside the caller's transaction, keeping their order."""
    if not events:
        return
    await conn.execute(
        "INSERT INTO poller_outbox (tenant_id, entity, topic, payload)"
        " SELECT $1, $2, u.topic, u.payload"
        " FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS u(topic, payload, n)"
        " ORDER BY u.n",
        tenant_id,
        entity,
        [str(topic) for topic, _ in events],
        [encode(event) for _, event in events],
    )


class OutboxRelay:
    """Publishes one tenant's outbox rows in order; deletes them only after Kafka's acks."""

    def __init__(self, pool: asyncpg.Pool, publisher: Publisher, *, batch: int = 2000) -> None:
        self._pool, self._publisher, self._batch = pool, publisher, batch

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def drain(self, tenant_id: str) -> int:
        """Publish everything pending for the tenant; returns how many events went out."""
        total = 0
        while True:
            sent = await self._drain_batch(tenant_id)
            if sent is None:
                return total
            total += sent
            if sent < self._batch:
                return total

    async def pending(self, tenant_id: str) -> int:
        count: int = await self._pool.fetchval(
            "SELECT count(*) FROM poller_outbox WHERE tenant_id = $1", tenant_id
        )
        return count

    async def _drain_batch(self, tenant_id: str) -> int | None:
        """One batch under the tenant's advisory lock; None when another replica holds it."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", OUTBOX_LOCK_CLASS, tenant_id
            )
            if not locked:
                return None
            rows = await conn.fetch(
                "SELECT id, topic, payload FROM poller_outbox WHERE tenant_id = $1"
                " ORDER BY id LIMIT $2",
                tenant_id,
                self._batch,
            )
            if not rows:
                return 0
            await self._publisher.publish_all([(r["topic"], decode(r["payload"])) for r in rows])
            # By id, not "id <= last": a row committed meanwhile with a lower id stays queued.
            await conn.execute(
                "DELETE FROM poller_outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        log.debug("outbox relayed", extra=ctx(tenant=tenant_id, events=len(rows)))
        return len(rows)
