"""One tenant's share of a consumed batch or of a drain pass, and what its failure costs.

The share is the tenant's upserts, then its deletes (a record deleted in the same batch ends
deleted), within a bound: for a consumed batch, the short batch wait, counted on the share's
time waiting on its own org (its call slots, token, Zoho's answers and retries:
`TenantRun.on_org`, a `mlc_core.waits.WaitClock`).
The consumer fetches again only once every tenant's share is done, so that is what one tenant
can cost the others. The rest of a share's time (PostgreSQL, this process's CPU shared with
every other share) is the machine's: on a loaded machine every share of a batch ends late
together, and cutting them for it paused healthy tenants as slow by the batch (measured:
`make bench` fairness, 209 tenants paused while Zoho answered in 300 ms). The share deadline
bounds a share's whole time, and is the only bound of a drain pass (tenants on their own,
never holding a partition).
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
    clock = asyncio.get_running_loop().time
    run.on_org.now = clock  # the clock the bound below is set on
    commands: list[WriteCommand] = [*upserts, *deletes]
    if (
        not from_parking
        and tenant_id in deps.draining
        and await deps.parking.due_backlog(tenant_id, at_least=BUSY_BACKLOG)
    ):
        await deps.holds.park(run, commands, reason=BEHIND_ITS_DRAIN, delay=0)
        return run
    policy = deps.policy
    wait = None if from_parking else policy.batch_wait_seconds
    ends = clock() + policy.share_deadline_seconds
    bound = asyncio.timeout_at(ends)
    try:
        async with bound:
            if wait is not None:
                _cut_at_org_time(bound, run, wait, ends=ends)
            try:
                await _write(run, upserts, deletes, deps)
            finally:  # a call gather left running must not move a bound that is gone
                run.on_org.on_change = None
        await deps.holds.settle_faults(run)
    except Exception as exc:
        slow = bound.expired()
        reason = _slow_reason(run) if slow else fault_for(exc)
        if reason is None:
            raise  # PostgreSQL or Kafka: nothing can be made durable, the batch is retried
        left = _left(run, commands)
        if not slow:
            await deps.holds.on_fault(run, reason, describe(exc), left)
            return run
        cut = _cut_by(run, wait if clock() < ends else None, policy.share_deadline_seconds)
        if (run.wrote or not run.called) and not from_parking:
            await deps.holds.park(run, left, reason=f"continued by the drain ({cut})", delay=0)
            return run
        await deps.holds.on_fault(run, reason, _slow_detail(run, cut), left)
    return run


def _cut_at_org_time(bound: asyncio.Timeout, run: TenantRun, wait: float, *, ends: float) -> None:
    """Moves `bound` as the share waits on its org: due once that time reaches `wait`, else
    (nothing waiting on the org) at the share deadline, `ends`."""

    def follow() -> None:
        if bound.expired():
            return  # the wait that ends now is the one cancelled
        due = run.on_org.reaches(wait)
        bound.reschedule(ends if due is None else min(ends, due))

    run.on_org.on_change = follow


def _cut_by(run: TenantRun, wait: float | None, deadline: float) -> str:
    """Which bound a cut share passed (`wait` None: the deadline), as its reason says it."""
    if wait is not None:
        return f"the tenant's share of a batch waited over {wait:g} s on its org"
    what = "a drain pass" if run.from_parking else "a batch"
    on_org = run.on_org.spent()
    return f"the tenant's share of {what} took over {deadline:g} s ({on_org:.1f} s on its org)"


def _slow_reason(run: TenantRun) -> HoldReason:
    """A share cut while its calls were being retried after Zoho failed them is paused for that
    failure (what an operator must look at is Zoho being down, not its speed)."""
    if run.retry_errors:
        return fault_for(run.retry_errors[-1]) or HoldReason.ZOHO_SLOW
    return HoldReason.ZOHO_SLOW


def _slow_detail(run: TenantRun, cut: str) -> str:
    if run.retry_errors:
        return f"{describe(run.retry_errors[-1])} (still retrying when {cut})"
    return cut


def _left(run: TenantRun, commands: list[WriteCommand]) -> list[WriteCommand]:
    """Commands of the share without an outcome (calls that failed retryably included)."""
    settled = run.settled - {c.event_id for chunk, _ in run.faulty for c in chunk}
    run.faulty = []
    return [c for c in commands if c.event_id not in settled]


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
