"""One tenant's upserts: triage, parents, batched upserts under the org's limits.

Nothing here fails a command for a reason that time fixes: a 429 or exhausted credits pause the
tenant and park its commands (PostgreSQL) to be written later; a missing parent parks the child;
5xx and timeouts get a few jittered retries, then the commands are parked with a backoff
(TenantHolds.settle_faults). What Zoho wrote is recorded the moment it answers.
"""

from __future__ import annotations

import asyncio
import logging

from mlc_core.contracts import Topics, ZohoLookup, ZohoUpsertCommand, ZohoWriteOutcome
from mlc_core.logging import ctx
from mlc_core.tenants import Tenant
from mlc_core.zoho.errors import ZohoError, ZohoScopeError
from mlc_core.zoho.records import WriteReply, find_by_external, org_edition

from zoho_writer.calls import Answer, Blocked, attempt_chunk, with_token
from zoho_writer.deps import WriterDeps
from zoho_writer.field_check import with_known_fields
from zoho_writer.hold_policy import Held
from zoho_writer.limiter import Gate, known_edition
from zoho_writer.lookups import Resolution, Resolver
from zoho_writer.renumber import move_renumbered
from zoho_writer.run import TenantRun
from zoho_writer.service import (
    Failure,
    WriteCommand,
    chunks,
    content_hash,
    failed,
    latest_per_record,
    module_unavailable,
    outcomes_for,
    skipped,
    triage,
    unchanged,
)

log = logging.getLogger(__name__)
WAVES = 3  # parents written in one wave resolve their children in the next


async def write_tenant(
    run: TenantRun, tenant: Tenant, commands: list[ZohoUpsertCommand], deps: WriterDeps
) -> None:
    """The tenant's upserts of this batch (or drain pass), into `run`."""
    if not run.from_parking:
        commands = await _behind_parked(run, commands, deps)
    todo = await _triage(run, commands, deps)
    if todo and await deps.holds.check(run, tenant):
        await deps.holds.park_held(run, todo)
        return
    todo = await move_renumbered(run, tenant, todo, deps)
    if todo:
        todo = await with_known_fields(run, tenant, todo, deps)
    if todo:
        await _write_waves(run, tenant, todo, deps)


async def _behind_parked(
    run: TenantRun, todo: list[ZohoUpsertCommand], deps: WriterDeps
) -> list[ZohoUpsertCommand]:
    """A record with an older version parked (waiting for its parent, or its tenant paused)
    waits behind it, before triage. Written now, the newer version could land first and the
    drain, on any replica, then write the older one over it (the stale-version guard cannot
    see a write still in flight); and a newer version equal to what Zoho holds would be
    skipped as unchanged, so the drain would then write the parked older one over it (A, B,
    A). The drain triages a record's parked versions together: the newest wins."""
    parked = await deps.parking.parked_records(
        run.tenant_id, [(c.module, c.external_value) for c in todo]
    )
    behind = [c for c in todo if (c.module, c.external_value) in parked]
    if behind:
        reason = "an older version of this record is parked"
        await deps.holds.park(run, behind, reason=reason, delay=0)
    return [c for c in todo if (c.module, c.external_value) not in parked]


async def _triage(
    run: TenantRun, commands: list[ZohoUpsertCommand], deps: WriterDeps
) -> list[ZohoUpsertCommand]:
    latest = latest_per_record(commands)
    kept = {c.event_id for c in latest}  # by id: comparing models would be quadratic and slow
    run.outputs += [
        (Topics.ZOHO_OUTCOMES, skipped(c, "a newer version in the same batch"))
        for c in commands
        if c.event_id not in kept
    ]
    applied = await deps.store.applied(
        run.tenant_id, [(c.module, c.external_value) for c in latest]
    )
    sorted_ = triage(latest, applied)
    run.outputs += [
        (Topics.ZOHO_OUTCOMES, skipped(c, applied[(c.module, c.external_value)].version))
        for c in sorted_.stale
    ]
    run.outputs += [unchanged(c) for c in sorted_.unchanged]
    run.outputs += [(Topics.ZOHO_OUTCOMES, outcome) for outcome in sorted_.done]
    blocked = await deps.state.blocked_modules(run.tenant_id)
    for cmd in (c for c in sorted_.write if c.module in blocked):
        run.outputs += module_unavailable(cmd, first=False, detail="noted earlier")
    todo = [c for c in sorted_.write if c.module not in blocked]
    run.hashes = {c.event_id: content_hash(c) for c in todo}
    run.originals = {c.event_id: c for c in todo}
    return todo


async def _write_waves(
    run: TenantRun, tenant: Tenant, todo: list[ZohoUpsertCommand], deps: WriterDeps
) -> None:
    gate = deps.limiter.gate(run.tenant_id, await edition_of(run, tenant, deps))
    parents = [(lk.module, lk.external_value) for c in todo for lk in c.lookups]
    run.known = await deps.store.zoho_ids(run.tenant_id, parents) if parents else {}
    unknown = [p for p in parents if p not in run.known]
    coming = await deps.parking.parked_records(run.tenant_id, unknown) if unknown else set()
    resolver = Resolver(
        run.known,
        lambda lookup: _ask_zoho(run, tenant, lookup, gate, deps),
        coming=coming,
        may_ask=lambda cmd: run.attempts.get(cmd.event_id, 0) >= deps.policy.parent_lookup_after,
    )
    pending = todo
    for _ in range(WAVES):
        resolution = await resolver.resolve(pending)
        _refused(run, resolution)
        if not resolution.ready:
            await _wait_for_parents(run, resolution, deps)
            return
        await _write_ready(run, tenant, resolution.ready, gate, deps)
        pending = [cmd for cmd, _ in resolution.waiting]
        if not pending or run.hold.held:
            break
    if pending:
        resolution = await resolver.resolve(pending)
        _refused(run, resolution)
        await _wait_for_parents(run, resolution, deps)


async def _write_ready(
    run: TenantRun,
    tenant: Tenant,
    ready: list[ZohoUpsertCommand],
    gate: Gate,
    deps: WriterDeps,
) -> None:
    # Records that also match on a second key (invoice history, which may find the record its
    # open invoice makes) go after the rest of the batch: written side by side, both could
    # miss each other and create two records, or Zoho refuse one as DUPLICATE_DATA.
    for phase in ([c for c in ready if not c.also_match], [c for c in ready if c.also_match]):
        await asyncio.gather(
            *(
                _write_chunk(run, tenant, keys, chunk, gate, deps)
                for (_, keys), chunk in chunks(phase)
            )
        )


async def _write_chunk(
    run: TenantRun,
    tenant: Tenant,
    match_fields: tuple[str, ...],
    chunk: list[ZohoUpsertCommand],
    gate: Gate,
    deps: WriterDeps,
) -> None:
    notes: list[str] = []
    answer: WriteReply | Answer | None = None
    with run.on_org.waiting():
        async with gate.calling():
            run.called = True
            if not run.hold.held:  # else a sibling chunk held the tenant while this one queued
                answer = await attempt_chunk(
                    tenant, match_fields, chunk, deps, notes, seen=run.retry_errors
                )
    if answer is None:
        await deps.holds.park_held(run, chunk)
    elif isinstance(answer, WriteReply):
        await _written(run, chunk, answer, deps, "; ".join(notes) or None)
    elif isinstance(answer, Held):
        await deps.holds.on_held(run, tenant, answer, chunk)
    elif isinstance(answer, Blocked):
        await _blocked(run, chunk, answer, deps)
    elif answer.retryable:
        cmds: list[WriteCommand] = list(chunk)
        run.faulty.append((cmds, answer))
    else:
        _failed(run, chunk, answer)


async def _written(
    run: TenantRun,
    chunk: list[ZohoUpsertCommand],
    reply: WriteReply,
    deps: WriterDeps,
    recovered_from: str | None,
) -> None:
    produced = outcomes_for(chunk, reply.results, run.origins, recovered_from)
    # Durable before anything else can fail: a redelivery must not write Zoho again.
    await deps.store.record_applied(
        [o for _, o in produced if isinstance(o, ZohoWriteOutcome)], run.hashes
    )
    run.outputs += produced
    run.wrote = True
    for _, out in produced:
        if isinstance(out, ZohoWriteOutcome) and out.zoho_id:
            run.known[(out.module, out.external_value)] = out.zoho_id
    await deps.holds.on_reply(run, reply.credits_remaining)


async def _blocked(
    run: TenantRun, chunk: list[ZohoUpsertCommand], answer: Blocked, deps: WriterDeps
) -> None:
    module = chunk[0].module
    first = await deps.state.block_module(
        run.tenant_id,
        module,
        code=answer.code,
        message=answer.message,
        recheck=deps.policy.module_recheck,
    )
    if first:
        log.warning("Zoho module unavailable", extra=ctx(tenant=run.tenant_id, module=module))
    for i, cmd in enumerate(chunk):
        run.outputs += module_unavailable(cmd, first=first and i == 0, detail=answer.code)


def _failed(run: TenantRun, chunk: list[ZohoUpsertCommand], failure: Failure) -> None:
    log.error(
        "Zoho write failed",
        extra=ctx(tenant=run.tenant_id, module=chunk[0].module, records=len(chunk),
                  code=failure.code, retryable=failure.retryable),
    )  # fmt: skip
    for cmd in chunk:
        run.outputs += failed(cmd, failure, run.origins.get(cmd.event_id))


def _refused(run: TenantRun, resolution: Resolution) -> None:
    for cmd, why in resolution.refused:
        failure = Failure("LOOKUP_PATH_INVALID", why, retryable=False)
        run.outputs += failed(cmd, failure, run.origins.get(cmd.event_id))


async def _wait_for_parents(run: TenantRun, resolution: Resolution, deps: WriterDeps) -> None:
    policy = deps.policy
    for cmd, parent in resolution.waiting:
        tries = run.attempts.get(cmd.event_id, 0)
        if tries >= policy.parent_attempts:
            failure = Failure(
                "PARENT_MISSING",
                f"{parent} never appeared in Zoho; write that record first, then replay this one",
                retryable=True,
            )
            run.outputs += failed(cmd, failure, run.origins.get(cmd.event_id))
            continue
        delay = min(policy.parent_retry_cap_seconds, policy.parent_retry_seconds * 2**tries)
        await deps.holds.park(run, [cmd], reason=f"waiting for parent {parent}", delay=delay)
    if resolution.ready:  # parents resolved only now (another wave would be needed)
        reason = "parent written in this batch"
        await deps.holds.park(run, list(resolution.ready), reason=reason, delay=0)


async def edition_of(run: TenantRun, tenant: Tenant, deps: WriterDeps) -> str:
    """The org's edition: remembered for a day; asked of Zoho (needs ZohoCRM.org.READ), else
    the configured default (Free, the smallest, unless set: never above the org's limits)."""
    cached = known_edition(
        await deps.state.edition(tenant.tenant_id, max_age=deps.policy.edition_max_age)
    )
    if cached:
        return cached

    async def ask(token: str, domain: str) -> str:
        return await org_edition(deps.http, api_domain=domain, access_token=token)

    try:
        with run.on_org.waiting():
            edition = known_edition(await with_token(tenant, deps, ask))
    except ZohoScopeError:
        edition = None  # no ZohoCRM.org.READ: remember the default, do not ask every batch
    except ZohoError:
        return deps.policy.default_edition  # ask again next time
    await deps.state.set_edition(tenant.tenant_id, edition or deps.policy.default_edition)
    return edition or deps.policy.default_edition


async def _ask_zoho(
    run: TenantRun, tenant: Tenant, lookup: ZohoLookup, gate: Gate, deps: WriterDeps
) -> str | None:
    async def call(token: str, domain: str) -> str | None:
        return await find_by_external(
            deps.http,
            api_domain=domain,
            access_token=token,
            module=lookup.module,
            external_field=lookup.external_field,
            value=lookup.external_value,
        )

    try:
        with run.on_org.waiting():
            async with gate.calling():
                return await with_token(tenant, deps, call)
    except ZohoError as exc:
        # Treated as "not there yet": the child waits and asks again later.
        log.warning("parent lookup failed", extra=ctx(tenant=tenant.tenant_id, error=str(exc)))
        return None
