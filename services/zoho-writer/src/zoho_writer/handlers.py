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
from mlc_core.malformed import HostileMessage, decode_checked, key_tenant, malformed_letter
from mlc_core.tenants import TenantNotFound, load_tenant

from zoho_writer.deps import WriterDeps
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
    Each tenant's share runs on its own (share.py): one tenant's failure parks that tenant.

    A share decodes its commands when it starts and lets go of them when it ends, keeping only
    their outcomes: decoded all at once, a batch (up to 5,000 commands) from hundreds of
    onboarding tenants held 26 MiB of them (writer probe, `bench.fairness`, 1,000 tenants)."""
    letters: list[Output] = []
    by_tenant = _by_tenant(records, letters)
    gate = asyncio.Semaphore(SHARES_AT_ONCE)

    async def share(tenant_id: str) -> list[Output]:
        async with gate:
            upserts, deletes, origins = _decoded(tenant_id, by_tenant[tenant_id], letters)
            if not (upserts or deletes):
                return []
            run = await write_share(tenant_id, upserts, deletes, deps, origins=origins)
            return run.outputs

    # Every share ends before the batch does, even when one raised (infrastructure): a retry
    # of the batch must not run beside the shares of the attempt that failed.
    shares = await asyncio.gather(*(share(t) for t in sorted(by_tenant)), return_exceptions=True)
    errors = [error for error in shares if isinstance(error, BaseException)]
    if errors:
        raise errors[0]
    outcomes = [out for outputs in shares if isinstance(outputs, list) for out in outputs]
    await deps.publisher.publish_all(letters + outcomes)


def _by_tenant(records: Sequence[Record], letters: list[Output]) -> dict[str, list[Record]]:
    """The batch's records by the tenant their key names, still undecoded. One whose key names
    no tenant (not written by our services) is decoded here to find its tenant."""
    by_tenant: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        tenant = key_tenant(record.key)
        if tenant is None:
            try:
                tenant = decode_checked(record.value or b"").tenant_id
            except ValueError as exc:  # broken or hostile: a dead letter, never a stalled batch
                letters.append(_letter(record, exc))
                continue
        by_tenant[tenant].append(record)
    return by_tenant


def _decoded(
    tenant_id: str, records: list[Record], letters: list[Output]
) -> tuple[list[ZohoUpsertCommand], list[ZohoDeleteCommand], dict[uuid.UUID, Origin]]:
    """A share's commands and where each came from. A command for another tenant than its key
    names is a dead letter: written in this share, it would go to this tenant's org."""
    upserts: list[ZohoUpsertCommand] = []
    deletes: list[ZohoDeleteCommand] = []
    origins: dict[uuid.UUID, Origin] = {}
    for record in records:
        try:
            event = decode_checked(record.value or b"")
            if event.tenant_id != tenant_id:
                raise HostileMessage(
                    f"its key names tenant {tenant_id}, its command tenant {event.tenant_id}"
                )
        except ValueError as exc:
            letters.append(_letter(record, exc))
            continue
        origins[event.event_id] = Origin(record.topic, record.partition, record.offset)
        if isinstance(event, ZohoUpsertCommand):
            upserts.append(event)
        elif isinstance(event, ZohoDeleteCommand):
            deletes.append(event)
    return upserts, deletes, origins


def _letter(record: Record, exc: ValueError) -> Output:
    return (Topics.DEAD_LETTERS, malformed_letter(record, exc, stage="zoho-writer"))


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
    # acks=all, before the parked rows go: what Zoho holds was recorded when it answered
    await deps.publisher.publish_all(run.outputs)
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
