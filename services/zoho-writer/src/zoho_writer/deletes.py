"""Records gone from Sage: deactivate (update a status field) or delete their Zoho record.

Rare, so one record per call: find it by its external key, then PUT or DELETE by id. A record
Zoho does not have is already as wanted (success, no change). The stale guard applies: a delete
older than what was last applied (the record came back) is skipped. Any Zoho trouble, 429
included, gets the usual quick retries and then a retryable failed outcome and a dead letter.
"""

from __future__ import annotations

import asyncio
import uuid

from mlc_core.contracts import OutcomeStatus, Topics, ZohoDeleteCommand, ZohoWriteOutcome, caused_by
from mlc_core.tenants import Tenant, TenantNotFound, load_tenant
from mlc_core.zoho.errors import ZohoError, ZohoPermanentError
from mlc_core.zoho.records import RecordResult, delete_one, find_by_external, update_one

from zoho_writer.calls import with_token
from zoho_writer.deps import WriterDeps
from zoho_writer.service import OUTCOME_NAMESPACE, Failure, Origin, Output, failed, skipped


async def write_deletes(
    tenant_id: str,
    commands: list[ZohoDeleteCommand],
    deps: WriterDeps,
    origins: dict[uuid.UUID, Origin],
) -> list[Output]:
    try:
        tenant = await load_tenant(deps.pool, keyring=deps.keyring, tenant_id=tenant_id)
    except TenantNotFound as exc:
        failure = Failure("TENANT_UNKNOWN", str(exc), retryable=False)
        return [o for c in commands for o in failed(c, failure, origins.get(c.event_id))]
    keys = [(c.module, c.external_value) for c in commands]
    applied = await deps.store.applied(tenant_id, keys)
    outputs: list[Output] = []
    for cmd in commands:
        done = applied.get((cmd.module, cmd.external_value))
        if done is not None and cmd.source_version < done.version:
            outputs.append((Topics.ZOHO_OUTCOMES, skipped(cmd, done.version)))
        else:
            outputs += await _apply(tenant, cmd, deps, origins.get(cmd.event_id))
    return outputs


async def _apply(
    tenant: Tenant, cmd: ZohoDeleteCommand, deps: WriterDeps, origin: Origin | None
) -> list[Output]:
    last: Failure | None = None
    for attempt in range(deps.retry.attempts):
        try:
            result = await with_token(tenant, deps, lambda t, d: _call(cmd, deps, t, d))
        except ZohoPermanentError as exc:
            return failed(cmd, Failure(exc.code or type(exc).__name__, str(exc), False), origin)
        except ZohoError as exc:
            last = Failure(exc.code or type(exc).__name__, str(exc), retryable=True)
            if attempt + 1 < deps.retry.attempts:
                await asyncio.sleep(deps.retry.backoff.delay(attempt))
            continue
        if not result.ok:
            failure = Failure(result.code or "UNKNOWN", result.message or "", False, result.field)
            return failed(cmd, failure, origin)
        return [(Topics.ZOHO_OUTCOMES, _done(cmd, result))]
    assert last is not None
    return failed(cmd, last, origin)


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
