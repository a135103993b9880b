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

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING

import asyncpg
from mlc_core.contracts import Envelope, decode
from mlc_core.kafka import Publisher
from mlc_core.logging import ctx
from mlc_core.unsendable import DEFAULT_MAX_MESSAGE_BYTES, sendable

if TYPE_CHECKING:
    from mlc_core.db import Connection

log = logging.getLogger(__name__)
# Advisory-lock namespace: one relay per tenant at a time keeps the tenant's events in order
# even with several poller replicas.
OUTBOX_LOCK_CLASS = 0x5A6E


# Events just queued, by their outbox payload: the relay publishes these objects instead of
# decoding the rows it reads back (the payload is exactly `encode(event)`, so the message
# Kafka gets is the same bytes either way).
Queued = Mapping[bytes, Envelope]


async def enqueue(
    conn: Connection,
    tenant_id: str,
    entity: str,
    events: Sequence[tuple[str, Envelope]],
    *,
    limit: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> Queued:
    """Add events to the outbox inside the caller's transaction, keeping their order. An event
    Kafka could not carry (unencodable text, over `limit` bytes) is queued as the small dead
    letter standing for it: queued as it is, it would fail every drain and block the tenant."""
    if not events:
        return {}
    sent = [sendable(topic, event, limit=limit, stage="sage-poller") for topic, event in events]
    payloads = [payload for _, _, payload in sent]
    await conn.execute(
        "INSERT INTO poller_outbox (tenant_id, entity, topic, payload)"
        " SELECT $1, $2, u.topic, u.payload"
        " FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS u(topic, payload, n)"
        " ORDER BY u.n",
        tenant_id,
        entity,
        [str(topic) for topic, _, _ in sent],
        payloads,
    )
    return {payload: event for _, event, payload in sent}


class OutboxRelay:
    """Publishes one tenant's outbox rows in order; deletes them only after Kafka's acks."""

    def __init__(self, pool: asyncpg.Pool, publisher: Publisher, *, batch: int = 2000) -> None:
        self._pool, self._publisher, self._batch = pool, publisher, batch

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def drain(self, tenant_id: str, queued: Queued | None = None) -> int:
        """Publish everything pending for the tenant; returns how many events went out.
        `queued`: events this process just enqueued (others are decoded from their rows)."""
        total = 0
        while True:
            sent = await self._drain_batch(tenant_id, queued or {})
            if sent is None:
                return total
            total += sent
            if sent < self._batch:
                return total

    async def drain_left(self, tenant_id: str) -> int:
        """`drain`, for what a crash or a failed drain left: every tenant's pass asks first,
        so an empty outbox (nearly every pass) costs one indexed read, not a transaction and
        its lock (four round trips on a pooled connection, 1,000 tenants asking)."""
        left = await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM poller_outbox WHERE tenant_id = $1)", tenant_id
        )
        return await self.drain(tenant_id) if left else 0

    async def pending(self, tenant_id: str) -> int:
        count: int = await self._pool.fetchval(
            "SELECT count(*) FROM poller_outbox WHERE tenant_id = $1", tenant_id
        )
        return count

    async def _drain_batch(self, tenant_id: str, queued: Queued) -> int | None:
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
            await self._publisher.publish_all([(r["topic"], _event(r, queued)) for r in rows])
            # By id, not "id <= last": a row committed meanwhile with a lower id stays queued.
            await conn.execute(
                "DELETE FROM poller_outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        log.debug("outbox relayed", extra=ctx(tenant=tenant_id, events=len(rows)))
        return len(rows)


def _event(row: asyncpg.Record, queued: Queued) -> Envelope:
    payload: bytes = row["payload"]
    known = queued.get(payload)
    return known if known is not None else decode(payload)


class PageRelay:
    """Drains a poll's pages in the background, at most one drain in flight.

    A page's drain (publish, wait for Kafka's acks, delete) runs while the poller plans and
    commits the next page. Each page is committed before its drain starts and every drain
    finishes before the next one starts, so the outbox's guarantees are those of a plain
    `drain()` after each commit: rows go out in id order, and a failed drain leaves its rows
    queued for the next one. The difference: a drain's failure surfaces one page later, so one
    more page may be waiting in the outbox when the poll stops.
    """

    def __init__(self, outbox: OutboxRelay, tenant_id: str) -> None:
        self._outbox, self._tenant_id = outbox, tenant_id
        self._task: asyncio.Task[int] | None = None
        self._queued: dict[bytes, Envelope] = {}

    async def page_committed(self, queued: Queued | None = None) -> None:
        """Start draining; first waits for (and raises the error of) the previous drain."""
        queued = queued or {}
        # The running drain may already reach this page's rows (it drains to the end).
        self._queued.update(queued)
        await self.wait()
        # Every page before this one is out now: keep only this page's events.
        self._queued = dict(queued)
        self._task = asyncio.create_task(self._outbox.drain(self._tenant_id, self._queued))

    async def wait(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        """The poll failed: let a running drain finish (its events are committed and ready),
        logging rather than raising its own failure over the poll's."""
        try:
            await self.wait()
        except Exception:
            log.exception("outbox relay failed", extra=ctx(tenant=self._tenant_id))

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


@contextlib.asynccontextmanager
async def page_relay(outbox: OutboxRelay, tenant_id: str) -> AsyncIterator[PageRelay]:
    """A PageRelay whose last drain has finished when the block ends without error."""
    relay = PageRelay(outbox, tenant_id)
    try:
        yield relay
    except Exception:
        await relay.abandon()
        raise
    except BaseException:  # cancelled: stop the drain; its rows stay queued for the next one
        relay.cancel()
        raise
    await relay.wait()
