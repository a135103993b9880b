"""A command naming a field the tenant's Zoho module lacks gets its own failed outcome instead
of losing that value silently.

Zoho documents no error for a field name the module does not have (zoho-crm.md §3.1 only says
API names must be used): the value is dropped and the record written. A tenant that skipped
`mlc zoho setup` would load every record with those fields empty and every outcome "written".
The org's field list (settings API, scope ZohoCRM.settings.fields.READ) is read once per
tenant and module and kept for `max_age_s`; when it cannot be read, records are written
unchecked, as before (`mlc ping` reports the refused scope).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from mlc_core.contracts import ZohoUpsertCommand
from mlc_core.logging import ctx
from mlc_core.tenants import Tenant
from mlc_core.waits import WaitClock
from mlc_core.zoho import metadata
from mlc_core.zoho.errors import ZohoError

from zoho_writer.calls import with_token
from zoho_writer.deps import WriterDeps
from zoho_writer.org_fields import Known, written_names
from zoho_writer.run import TenantRun
from zoho_writer.service import Failure, failed

log = logging.getLogger(__name__)
MISSING_FIELD = "FIELD_NOT_IN_ZOHO"
RECHECK_S = 10.0


async def known_fields(
    tenant: Tenant,
    module: str,
    deps: WriterDeps,
    max_age_s: float | None = None,
    *,
    on_org: WaitClock,
) -> Known:
    async def call(token: str, domain: str) -> list[metadata.FieldInfo]:
        return await metadata.fields(
            deps.http, api_domain=domain, access_token=token, module=module
        )

    async def read() -> Known:
        try:
            with on_org.waiting():
                fields = await with_token(tenant, deps, call)
            return frozenset(f.api_name for f in fields)
        except ZohoError as exc:
            log.warning(
                "module fields unreadable; writing unchecked",
                extra=ctx(tenant=tenant.tenant_id, module=module, error=type(exc).__name__),
            )
            return None

    return await deps.org_fields.names(tenant.tenant_id, module, read, max_age_s)


async def _missing(
    run: TenantRun, tenant: Tenant, cmd: ZohoUpsertCommand, deps: WriterDeps
) -> list[str]:
    missing: list[str] = []
    for max_age in (None, RECHECK_S):  # found missing: asked again unless just read
        known = await known_fields(tenant, cmd.module, deps, max_age, on_org=run.on_org)
        missing = [] if known is None else [n for n in written_names(cmd) if n not in known]
        if not missing:
            break
    return missing


async def with_known_fields(
    run: TenantRun,
    tenant: Tenant,
    commands: list[ZohoUpsertCommand],
    deps: WriterDeps,
) -> list[ZohoUpsertCommand]:
    """The commands whose every field the org has. Each other one waits (deferred, naming
    the fields and the fix: `mlc zoho setup` may be running right now) as a child waits for
    its parent, then fails by itself (a dead letter: replay it once the fields exist)."""
    writable = []
    policy = deps.policy
    for cmd in commands:
        missing = await _missing(run, tenant, cmd, deps)
        if not missing:
            writable.append(cmd)
            continue
        reason = (
            f"Zoho {cmd.module} has no field {', '.join(missing)}: Zoho would drop the value(s);"
            f" run `mlc zoho setup {tenant.tenant_id}` (fields added in the mapping file: add"
            " them in Zoho)"
        )
        tries = run.attempts.get(cmd.event_id, 0)
        if tries >= policy.parent_attempts:
            failure = Failure(MISSING_FIELD, f"{reason}, then `mlc replay` this record", False)
            run.outputs += failed(
                cmd, replace(failure, field=missing[0]), run.origins.get(cmd.event_id)
            )
            continue
        delay = min(policy.parent_retry_cap_seconds, policy.parent_retry_seconds * 2**tries)
        await deps.holds.park(run, [cmd], reason=reason, delay=delay)
    return writable
