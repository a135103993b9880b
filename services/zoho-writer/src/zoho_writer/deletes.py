"""Records gone from Sage: deactivate (update a status field) or delete their Zoho record.

Rare, so one record per call: find it by its external key, then PUT or DELETE by id. A record
Zoho does not have is already as wanted (success, no change). The stale guard applies: a delete
older than what was last applied (the record came back) is skipped. Like upserts, deletes wait
(parked) while the tenant is paused (429, exhausted credits) or must reconnect Zoho; 5xx get
the usual quick retries and then a retryable failed outcome and a dead letter.
"""

from __future__ import annotations

import uuid

from mlc_core.contracts import OutcomeStatus, Topics, ZohoDeleteCommand, ZohoWriteOutcome, caused_by
from mlc_core.tenants import Tenant
from mlc_core.zoho.records import RecordResult, delete_one, find_by_external, update_one

from zoho_writer.calls import Blocked, attempt
from zoho_writer.deps import WriterDeps
from zoho_writer.hold_policy import Held
from zoho_writer.limiter import Gate
from zoho_writer.run import TenantRun
from zoho_writer.service import OUTCOME_NAMESPACE, Failure, failed, skipped
from zoho_writer.writing import edition_of


async def write_deletes(
    run: TenantRun, tenant: Tenant, commands: list[ZohoDeleteCommand], deps: WriterDeps
) -> None:
    """The tenant's deletes of this batch (or drain pass), into `run`, after its upserts."""
    keys = [(c.module, c.external_value) for c in commands]
    applied = await deps.store.applied(run.tenant_id, keys)
    todo: list[ZohoDeleteCommand] = []
    for cmd in commands:
        done = applied.get((cmd.module, cmd.external_value))
        if done is not None and (outcome := done.by(cmd)) is not None:
            run.outputs.append((Topics.ZOHO_OUTCOMES, outcome))  # redelivered: already done
        elif done is not None and cmd.source_version < done.version:
            run.outputs.append((Topics.ZOHO_OUTCOMES, skipped(cmd, done.version)))
        else:
            todo.append(cmd)
    if not todo:
        return
    if await deps.holds.check(run, tenant):
        await deps.holds.park_held(run, todo)
        return
    gate = deps.limiter.gate(run.tenant_id, await edition_of(run, tenant, deps))
    for cmd in todo:
        await _apply(run, tenant, cmd, gate, deps)


async def _apply(
    run: TenantRun, tenant: Tenant, cmd: ZohoDeleteCommand, gate: Gate, deps: WriterDeps
) -> None:
    if run.hold.held:  # an earlier delete held the tenant: wait like the rest
        await deps.holds.park_held(run, [cmd])
        return
    # One of the org's call slots, as an upsert's chunk takes: the tenant's drain, or its
    # upserts on this replica, may hold all of them, and Zoho refuses the call past them.
    with run.on_org.waiting():
        async with gate.calling():
            run.called = True
            answer = await attempt(
                tenant, deps, lambda t, d: _call(cmd, deps, t, d), seen=run.retry_errors
            )
    origin = run.origins.get(cmd.event_id)
    if isinstance(answer, RecordResult):
        if answer.ok:
            outcome = _done(cmd, answer)
            await deps.store.record_applied([outcome], {})  # before anything else can fail
            run.outputs.append((Topics.ZOHO_OUTCOMES, outcome))
            run.wrote = True
        else:
            failure = Failure(answer.code or "UNKNOWN", answer.message or "", False, answer.field)
            run.outputs += failed(cmd, failure, origin)
    elif isinstance(answer, Held):
        await deps.holds.on_held(run, tenant, answer, [cmd])
    elif isinstance(answer, Blocked):
        run.outputs += failed(cmd, Failure(answer.code, answer.message, False), origin)
    elif answer.retryable:
        run.faulty.append(([cmd], answer))
    else:
        run.outputs += failed(cmd, answer, origin)


async def _call(cmd: ZohoDeleteCommand, deps: WriterDeps, token: str, domain: str) -> RecordResult:
    common = {"api_domain": domain, "access_token": token, "module": cmd.module}
    zoho_id = await find_by_external(
        deps.http, **common, external_field=cmd.external_field, value=cmd.external_value
    )
    if zoho_id is None:
        return RecordResult(ok=True, message="Zoho has no such record: nothing to do")
    if cmd.mode == "delete":
        return await delete_one(deps.http, **common, record_id=zoho_id)
    return await update_one(
        deps.http, **common, record_id=zoho_id, values=cmd.deactivate, trigger=[]
    )


def _done(cmd: ZohoDeleteCommand, result: RecordResult) -> ZohoWriteOutcome:
    what = "deleted" if cmd.mode == "delete" else "deactivated"
    return ZohoWriteOutcome(
        event_id=uuid.uuid5(OUTCOME_NAMESPACE, f"{cmd.event_id}:{what}:{result.zoho_id}"),
        **caused_by(cmd),
        module=cmd.module,
        external_value=cmd.external_value,
        source_version=cmd.source_version,
        status=OutcomeStatus.SUCCEEDED,
        zoho_id=result.zoho_id,
        action="update" if result.zoho_id and cmd.mode == "deactivate" else None,
        error_message=result.message if result.zoho_id is None else f"record {what} in Zoho",
    )
