"""One tenant's share of a consumed batch or of a drain pass, and what its failure costs.

The share is the tenant's upserts, then its deletes (a record deleted in the same batch ends
deleted), within a bound: the short batch wait for a consumed batch (the consumer fetches again
only once every tenant's share is done, so this is what one tenant can cost the others), the
longer share deadline for a drain pass (tenants on their own, never holding a partition).
Past the batch wait, a tenant that made progress (a call answered), or whose calls all still
queued for its slots (held by its own drain), is only busy: the rest of its share is parked and
continued by the drain, with no pause. One with no answer at all is slow:
paused as `Zoho too slow`, its circuit open, so later batches park it without calling Zoho.
A tenant this replica's drain is writing, with BUSY_BACKLOG commands still due, is parked at
once, with no Zoho call from the consumer: its new commands would only queue behind its own
drain for this replica's slots, and the batch wait they spent there is what a big load cost
every other tenant per batch. Other replicas write the tenant as usual with their own slots
(a record with a version parked waits behind it), so a load still uses every replica's share.
Calls in flight are cancelled; upserts match on the external key, so one that Zoho still
applied is written again by the drain with the same content (idempotent, no duplicate).
An error escaping the share costs that tenant only
(`hold_policy.fault_for`): it is paused with the reason, its circuit opened, and its commands
without an outcome parked; the rest of the batch is written and the partition's offsets are
committed. Only PostgreSQL or Kafka trouble escapes (the batch is retried from its offsets).
"""

from __future__ import annotations

import asyncio
import uuid

from mlc_core.contracts import ZohoDeleteCommand, ZohoUpsertCommand
from mlc_core.tenants import TenantNotFound, load_tenant

from zoho_writer.deletes import write_deletes
from zoho_writer.deps import WriterDeps
from zoho_writer.hold_policy import HoldReason, describe, fault_for
from zoho_writer.run import TenantRun
from zoho_writer.service import Failure, Origin, WriteCommand, failed
from zoho_writer.writing import write_tenant

# One full call's worth of due parked commands: a tenant with fewer (a record waiting for its
# parent, one retried after a failure) is written by the consumer as usual; one with more is
# loading or catching up, and the drain writes it at its org's full concurrency.
BUSY_BACKLOG = 100
BEHIND_ITS_DRAIN = "continued by the drain (the tenant's earlier commands are still being written)"


async def write_share(
    tenant_id: str,
    upserts: list[ZohoUpsertCommand],
    deletes: list[ZohoDeleteCommand],
    deps: WriterDeps,
    *,
    origins: dict[uuid.UUID, Origin],
    attempts: dict[uuid.UUID, int] | None = None,
    from_parking: bool = False,
) -> TenantRun:
    run = TenantRun(tenant_id, origins, attempts or {}, from_parking)
    commands: list[WriteCommand] = [*upserts, *deletes]
    if (
        not from_parking
        and tenant_id in deps.draining
        and await deps.parking.due_backlog(tenant_id, at_least=BUSY_BACKLOG)
    ):
        await deps.holds.park(run, commands, reason=BEHIND_ITS_DRAIN, delay=0)
        return run
    policy = deps.policy
    deadline = policy.share_deadline_seconds
    if not from_parking:
        deadline = min(deadline, policy.batch_wait_seconds)
    bound = asyncio.timeout(deadline)
    try:
        async with bound:
            await _write(run, upserts, deletes, deps)
        await deps.holds.settle_faults(run)
    except Exception as exc:
        slow = bound.expired()
        reason = _slow_reason(run) if slow else fault_for(exc)
        if reason is None:
            raise  # PostgreSQL or Kafka: nothing can be made durable, the batch is retried
        left = _left(run, commands)
        if slow and (run.wrote or not run.called) and not from_parking:
            await deps.holds.park(run, left, reason=_continued(deadline), delay=0)
            return run
        detail = _slow_detail(run, deadline) if slow else describe(exc)
        await deps.holds.on_fault(run, reason, detail, left)
    return run


def _slow_reason(run: TenantRun) -> HoldReason:
    """A share cut while its calls were being retried after Zoho failed them is paused for that
    failure (what an operator must look at is Zoho being down, not its speed)."""
    if run.retry_errors:
        return fault_for(run.retry_errors[-1]) or HoldReason.ZOHO_SLOW
    return HoldReason.ZOHO_SLOW


def _slow_detail(run: TenantRun, deadline: float) -> str:
    cut = f"its share of a batch took over {deadline:g} s"
    if run.retry_errors:
        return f"{describe(run.retry_errors[-1])} (still retrying when {cut})"
    return cut


def _left(run: TenantRun, commands: list[WriteCommand]) -> list[WriteCommand]:
    """Commands of the share without an outcome (calls that failed retryably included)."""
    settled = run.settled - {c.event_id for chunk, _ in run.faulty for c in chunk}
    run.faulty = []
    return [c for c in commands if c.event_id not in settled]


def _continued(wait: float) -> str:
    return f"continued by the drain (the tenant's share of a batch passed {wait:g} s)"


async def _write(
    run: TenantRun,
    upserts: list[ZohoUpsertCommand],
    deletes: list[ZohoDeleteCommand],
    deps: WriterDeps,
) -> None:
    try:
        tenant = await load_tenant(deps.pool, keyring=deps.keyring, tenant_id=run.tenant_id)
    except TenantNotFound as exc:
        failure = Failure("TENANT_UNKNOWN", str(exc), retryable=False)
        commands: list[WriteCommand] = [*upserts, *deletes]
        for cmd in commands:
            run.outputs += failed(cmd, failure, run.origins.get(cmd.event_id))
        return
    if not tenant.enabled:
        await deps.holds.park_disabled(run, [*upserts, *deletes])
        return
    if upserts:
        await write_tenant(run, tenant, upserts, deps)
    if deletes:
        await write_deletes(run, tenant, deletes, deps)
