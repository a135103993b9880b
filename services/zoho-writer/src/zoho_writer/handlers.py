"""Thin handlers: a consumed batch, and a drain pass over parked commands."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence

from mlc_core.contracts import (
    Topics,
    ZohoDeleteCommand,
    ZohoUpsertCommand,
)
from mlc_core.kafka import Record
from mlc_core.logging import ctx
from mlc_core.malformed import decode_checked, malformed_letter
from mlc_core.tenants import TenantNotFound, load_tenant

from zoho_writer.deps import WriterDeps
from zoho_writer.run import TenantRun
from zoho_writer.service import Origin, Output
from zoho_writer.share import write_share

log = logging.getLogger(__name__)
DRAIN_BATCH = 1000
# Tenants drained at once: a slow tenant's drain (up to the share deadline) leaves the other
# slots to the rest; each drain holds one pooled connection for its lock.
DRAIN_TENANTS_AT_ONCE = 4
# Tenants' shares of one consumed batch written at once. A batch can hold a thousand tenants
# (each onboarding, or each with one change), and each share holds its commands, outcomes,
# Zoho's answers and, on a tenant's first batch, its org's field metadata. Unbounded, the
# writer's memory grew with the tenants in a batch: 270 MiB at the 1,000-tenant bench once
# shares were no longer cut by the machine's slowness. 32 keeps 32 orgs' calls in flight
# (a batch of 1,000 small tenants is 10 s of Zoho answering in 300 ms), and the time a share
# queues here is not on its org, so the batch wait does not count it.
SHARES_AT_ONCE = 32


async def handle_batch(records: Sequence[Record], *, deps: WriterDeps) -> None:
    """Commands become upserts (or parked commands); returns once every effect is durable.
    Each tenant's share runs on its own (share.py): one tenant's failure parks that tenant."""
    upserts: dict[str, list[ZohoUpsertCommand]] = defaultdict(list)
    deletes: dict[str, list[ZohoDeleteCommand]] = defaultdict(list)
    origins: dict[uuid.UUID, Origin] = {}
    outputs: list[Output] = []
    for record in records:
        try:
            event = decode_checked(record.value or b"")
        except ValueError as exc:  # broken or hostile: a dead letter, never a stalled batch
            outputs.append(
                (Topics.DEAD_LETTERS, malformed_letter(record, exc, stage="zoho-writer"))
            )
            continue
        origins[event.event_id] = Origin(record.topic, record.partition, record.offset)
        if isinstance(event, ZohoUpsertCommand):
            upserts[event.tenant_id].append(event)
        elif isinstance(event, ZohoDeleteCommand):
            deletes[event.tenant_id].append(event)
    gate = asyncio.Semaphore(SHARES_AT_ONCE)

    async def share(tenant_id: str) -> TenantRun:
        async with gate:
            up, down = upserts.get(tenant_id, []), deletes.get(tenant_id, [])
            return await write_share(tenant_id, up, down, deps, origins=origins)

    # Every share ends before the batch does, even when one raised (infrastructure): a retry
    # of the batch must not run beside the shares of the attempt that failed.
    shares = await asyncio.gather(
        *(share(t) for t in sorted(upserts.keys() | deletes.keys())), return_exceptions=True
    )
    runs = [run for run in shares if isinstance(run, TenantRun)]
    errors = [error for error in shares if isinstance(error, BaseException)]
    if errors:
        raise errors[0]
    await _finish(outputs, runs, deps)


async def drain_once(deps: WriterDeps) -> int:
    """Write the due parked commands of every tenant that is not paused; returns how many.
    One pass, for tests and tools; the service runs each tenant's drain on its own (drains.py).
    Tenants drain side by side, each on its own: one tenant's failure (even PostgreSQL
    refusing its statements) never ends the pass for the others; it is raised after them."""
    gate = asyncio.Semaphore(DRAIN_TENANTS_AT_ONCE)

    async def one(tenant_id: str) -> int:
        async with gate, deps.parking.drain_lock(tenant_id) as mine:
            return await drain_tenant(tenant_id, deps) if mine else 0

    tenants = await deps.parking.due_tenants()
    results = await asyncio.gather(*(one(t) for t in tenants), return_exceptions=True)
    errors = [(t, r) for t, r in zip(tenants, results, strict=True) if isinstance(r, Exception)]
    for tenant_id, exc in errors:
        log.error(
            "drain of a tenant failed",
            exc_info=exc,
            extra=ctx(tenant=tenant_id, error=type(exc).__name__),
        )
    if errors:
        raise errors[0][1]
    return sum(r for r in results if isinstance(r, int))


async def drain_tenant(tenant_id: str, deps: WriterDeps) -> int:
    if not await _drainable(tenant_id, deps):
        return 0  # still the refused credentials: nothing to try until `mlc zoho connect`
    parked = await deps.parking.take(tenant_id, limit=DRAIN_BATCH)
    if not parked:
        return 0
    origins = {p.command.event_id: p.origin for p in parked if p.origin}
    run = await write_share(
        tenant_id,
        [p.command for p in parked if isinstance(p.command, ZohoUpsertCommand)],
        [p.command for p in parked if isinstance(p.command, ZohoDeleteCommand)],
        deps,
        origins=origins,
        attempts={p.command.event_id: p.attempts for p in parked},
        from_parking=True,
    )
    await _finish([], [run], deps)
    finished = run.finished
    await deps.parking.release(finished)
    if not run.hold.held:
        await deps.holds.resume(tenant_id)
    log.info(
        "drained parked commands",
        extra=ctx(tenant=tenant_id, taken=len(parked), finished=len(finished)),
    )
    return len(finished)


async def _drainable(tenant_id: str, deps: WriterDeps) -> bool:
    """A tenant in the reconnect state drains again once its credentials changed."""
    if not await deps.holds.must_reconnect(tenant_id):
        return True
    try:
        tenant = await load_tenant(deps.pool, keyring=deps.keyring, tenant_id=tenant_id)
    except TenantNotFound:
        return True  # let the drain pass fail its commands with the usual clear error
    return await deps.holds.refused(tenant) is None


async def _finish(outputs: list[Output], runs: Sequence[TenantRun], deps: WriterDeps) -> None:
    """Publish every outcome (acks=all). What Zoho holds was recorded when it answered."""
    outputs = outputs + [out for run in runs for out in run.outputs]
    await deps.publisher.publish_all(outputs)
