"""Sage renumbered a record: move its Zoho record to the new key before the upsert.

A command with `renumbered_from` first finds the Zoho record under the old external value
and, when the new value has none yet, changes its external field by record id (one PUT,
zoho-crm.md §3.1). The record keeps its id, so everything attached to it (contacts, deals,
notes, activities) stays attached; the upsert that follows then updates that same record.
The writer's stale guard follows it (its writer_versions row moves to the new key).

Found under neither key: nothing to move (already moved, or it never reached Zoho); the
upsert creates or updates it. Found under both: two records for one Sage customer, which
only a person can merge; the command fails (dead letter) rather than touch either. A paused
tenant parks the command (it moves when the tenant resumes); a move that keeps failing fails
the command instead of upserting it, so no duplicate is created under the new key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mlc_core.contracts import ZohoUpsertCommand
from mlc_core.logging import ctx
from mlc_core.tenants import Tenant
from mlc_core.zoho.records import find_by_external, update_one

from zoho_writer.calls import Blocked, Call, attempt
from zoho_writer.deps import WriterDeps
from zoho_writer.hold_policy import Held
from zoho_writer.run import TenantRun
from zoho_writer.service import Failure, failed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Moved:
    zoho_id: str | None  # None: nothing to move


async def move_renumbered(
    run: TenantRun, tenant: Tenant, todo: list[ZohoUpsertCommand], deps: WriterDeps
) -> list[ZohoUpsertCommand]:
    """Move the Zoho records of renumbered commands; returns the commands to upsert now."""
    keep: list[ZohoUpsertCommand] = []
    for cmd in todo:
        if not cmd.renumbered_from or cmd.renumbered_from == cmd.external_value:
            keep.append(cmd)
            continue
        if run.hold.held:  # an earlier move held the tenant: wait like the rest
            await deps.holds.park_held(run, [cmd])
            continue
        with run.on_org.waiting():
            answer = await attempt(tenant, deps, _mover(cmd, deps), seen=run.retry_errors)
        if isinstance(answer, Moved):
            await _moved(run, cmd, answer, deps)
            keep.append(cmd)
        elif isinstance(answer, Held):
            await deps.holds.on_held(run, tenant, answer, [cmd])
        else:
            failure = answer if isinstance(answer, Failure) else _blocked(answer)
            run.outputs += failed(cmd, failure, run.origins.get(cmd.event_id))
    return keep


def _mover(cmd: ZohoUpsertCommand, deps: WriterDeps) -> Call[Moved | Failure]:
    async def call(token: str, domain: str) -> Moved | Failure:
        return await _move(cmd, deps, token, domain)

    return call


async def _move(
    cmd: ZohoUpsertCommand, deps: WriterDeps, token: str, domain: str
) -> Moved | Failure:
    common = {"api_domain": domain, "access_token": token, "module": cmd.module}
    field, old, new = cmd.external_field, str(cmd.renumbered_from), cmd.external_value
    old_id = await find_by_external(deps.http, **common, external_field=field, value=old)
    if old_id is None:
        return Moved(None)
    new_id = await find_by_external(deps.http, **common, external_field=field, value=new)
    if new_id is not None and new_id != old_id:
        message = (
            f"Zoho {cmd.module} has a record under both {field}={old} (id {old_id}) and"
            f" {new} (id {new_id}); merge them in Zoho, then replay this command"
        )
        return Failure("RENUMBER_CONFLICT", message, retryable=False, field=field)
    result = await update_one(
        deps.http, **common, record_id=old_id, values={field: new}, trigger=[]
    )
    if not result.ok:
        message = f"moving {field} {old} -> {new} refused: {result.message or ''}"
        return Failure(result.code or "UNKNOWN", message, retryable=False, field=result.field)
    return Moved(old_id)


async def _moved(run: TenantRun, cmd: ZohoUpsertCommand, moved: Moved, deps: WriterDeps) -> None:
    old = str(cmd.renumbered_from)
    if moved.zoho_id is not None:
        await deps.store.move_key(run.tenant_id, cmd.module, old, cmd.external_value)
    log.info(
        "renumbered record moved" if moved.zoho_id else "renumbered record: nothing to move",
        extra=ctx(
            tenant=run.tenant_id,
            module=cmd.module,
            key=cmd.external_value,
            renumbered_from=old,
            zoho_id=moved.zoho_id,
        ),
    )


def _blocked(answer: Blocked) -> Failure:
    return Failure(answer.code, answer.message, retryable=False)
