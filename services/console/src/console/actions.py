"""The tenant page's buttons: ping, sync now, replay failed records, disable and enable. Each is
one mlc_ops operation (the code `mlc ping`, `mlc sync`, `mlc replay --failed-only` and `mlc
tenant enable|disable` run), written to the operator audit trail with how it ended."""

from __future__ import annotations

from typing import Any

from mlc_core.contracts import Entity
from mlc_core.tenants import TenantNotFound
from mlc_core.zoho.errors import ZohoError
from mlc_ops import operators, ping, replay, sync, tenants
from mlc_ops.errors import OpsError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console import auth
from console.handlers import console_of, render, signed_in

REFUSALS = (OpsError, ZohoError, TenantNotFound)


async def _done(
    request: Request, session: auth.Session, action: str, outcome: str, **context: Any
) -> Response:
    c = console_of(request)
    tenant_id = request.path_params["tenant"]
    await operators.record(
        pool=c.pool, operator=session.user, action=action, tenant_id=tenant_id, outcome=outcome
    )
    return render(
        request,
        "action.html",
        session,
        tenant_id=tenant_id,
        action=action,
        outcome=outcome,
        **context,
    )


@signed_in
async def ping_tenant(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant_id = request.path_params["tenant"]
    try:
        tenant = await tenants.get(pool=c.pool, keyring=c.keyring, tenant_id=tenant_id)
        checks = await ping.ping(tenant=tenant, http=c.http)
    except REFUSALS as exc:
        return await _done(request, session, "ping", f"refused: {exc}")
    failed = [ch for ch in checks if ch.status == "fail"]
    outcome = f"{len(failed)} of {len(checks)} checks failed" if failed else "all checks passed"
    return await _done(request, session, "ping", outcome, checks=checks)


@signed_in
async def sync_tenant(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant_id = request.path_params["tenant"]
    try:
        tenant = await tenants.get(pool=c.pool, keyring=c.keyring, tenant_id=tenant_id)
        requests = [
            (
                str(entity),
                await sync.request_sync(
                    pool=c.pool, keyring=c.keyring, tenant_id=tenant_id, entity=Entity(entity)
                ),
            )
            for entity in tenant.config.entities
        ]
    except REFUSALS as exc:
        return await _done(request, session, "sync now", f"refused: {exc}")
    ids = ", ".join(f"{e} #{rid}" for e, rid in requests)
    return await _done(request, session, "sync now", f"requested: {ids}", sync_requests=requests)


@signed_in
async def sync_progress(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    try:
        row = await sync.sync_status(pool=c.pool, request_id=int(request.path_params["request"]))
    except OpsError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    if row.get("tenant_id") not in (None, request.path_params["tenant"]):
        return JSONResponse({"error": "not this tenant's request"}, status_code=404)
    return JSONResponse({"text": sync.describe(row), "status": row.get("status")})


@signed_in
async def replay_failed(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant_id = request.path_params["tenant"]
    where = replay.ReplayFilter(tenant_id=tenant_id, event_type="auto", failed_only=True)
    try:
        result = await replay.replay(
            pool=c.pool,
            kafka_bootstrap=c.settings.kafka_bootstrap,
            where=where,
            reason=f"console replay by {session.user}",
        )
    except REFUSALS as exc:
        return await _done(request, session, "replay failed", f"refused: {exc}")
    outcome = (
        f"re-sent {result.total} failed record(s)" if result.published else "no failed records"
    )
    return await _done(request, session, "replay failed", outcome)


@signed_in
async def set_enabled(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant_id = request.path_params["tenant"]
    enabled = request.url.path.endswith("/enable")
    action = "enable" if enabled else "disable"
    try:
        await tenants.enable(pool=c.pool, tenant_id=tenant_id, enabled=enabled)
    except REFUSALS as exc:
        return await _done(request, session, action, f"refused: {exc}")
    await c.health.refresh()  # the tenant pages show the new state at once
    return await _done(request, session, action, f"tenant {action}d")
