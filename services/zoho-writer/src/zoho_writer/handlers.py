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
    ZohoWriteOutcome,
)
from mlc_core.kafka import Record
from mlc_core.logging import ctx
from mlc_core.malformed import decode_checked, malformed_letter
from mlc_core.tenants import TenantNotFound, load_tenant

from zoho_writer.deletes import write_deletes
from zoho_writer.deps import WriterDeps
from zoho_writer.run import TenantRun
from zoho_writer.service import Origin, Output
from zoho_writer.writing import write_tenant

log = logging.getLogger(__name__)
DRAIN_BATCH = 1000


async def handle_batch(records: Sequence[Record], *, deps: WriterDeps) -> None:
    """Commands become upserts (or parked commands); returns once every effect is durable."""
    commands: dict[str, list[ZohoUpsertCommand]] = defaultdict(list)
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
            commands[event.tenant_id].append(event)
        elif isinstance(event, ZohoDeleteCommand):
            deletes[event.tenant_id].append(event)
    runs = list(
        await asyncio.gather(
            *(write_tenant(t, c, deps, origins=origins) for t, c in commands.items())
        )
    )
    # After the upserts: a record deleted in the same batch ends deleted.
    for tenant_id, gone in deletes.items():
        runs.append(await write_deletes(tenant_id, gone, deps, origins))
    await _finish(outputs, runs, deps)


async def drain_once(deps: WriterDeps) -> int:
    """Write the due parked commands of every tenant that is not paused; returns how many."""
    drained = 0
    for tenant_id in await deps.parking.due_tenants():
        async with deps.parking.drain_lock(tenant_id) as mine:
            if mine:
                drained += await _drain_tenant(tenant_id, deps)
    return drained


async def _drain_tenant(tenant_id: str, deps: WriterDeps) -> int:
    if not await _drainable(tenant_id, deps):
        return 0  # still the refused credentials: nothing to try until `mlc zoho connect`
    parked = await deps.parking.take(tenant_id, limit=DRAIN_BATCH)
    if not parked:
        return 0
    origins = {p.command.event_id: p.origin for p in parked if p.origin}
    upserts = [p.command for p in parked if isinstance(p.command, ZohoUpsertCommand)]
    gone = [p.command for p in parked if isinstance(p.command, ZohoDeleteCommand)]
    run = await write_tenant(
        tenant_id,
        upserts,
        deps,
        origins=origins,
        attempts={p.command.event_id: p.attempts for p in parked},
        from_parking=True,
    )
    runs = [run]
    if gone:  # after the upserts, as in a consumed batch
        runs.append(await write_deletes(tenant_id, gone, deps, origins, from_parking=True))
    await _finish([], runs, deps)
    finished = [e for r in runs for e in r.finished]
    await deps.parking.release(finished)
    if not any(r.hold.held for r in runs):
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
    """Publish every outcome (acks=all), then remember what Zoho now holds."""
    outputs = outputs + [out for run in runs for out in run.outputs]
    await deps.publisher.publish_all(outputs)
    hashes = {k: v for run in runs for k, v in run.hashes.items()}
    await deps.store.record_applied(
        [o for _, o in outputs if isinstance(o, ZohoWriteOutcome)], hashes
    )
