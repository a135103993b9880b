"""The onboarding checklist page: the five steps of mlc_ops.onboarding (what `mlc tenant
onboard` shows), and, once steps 1-4 are green, the button that enables the tenant and starts
its first sync, whose progress the result page follows."""

from __future__ import annotations

from mlc_ops import onboarding, operators
from mlc_ops.errors import Refused
from starlette.requests import Request
from starlette.responses import Response

from console import auth
from console.handlers import console_of, render, signed_in


@signed_in
async def onboard_page(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    found = await onboarding.checklist(
        pool=c.pool, keyring=c.keyring, http=c.http, tenant_id=request.path_params["tenant"]
    )
    return render(request, "onboard.html", session, checklist=found)


@signed_in
async def onboard_start(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant_id = request.path_params["tenant"]
    try:
        started = await onboarding.start(
            pool=c.pool, keyring=c.keyring, http=c.http, tenant_id=tenant_id
        )
    except Refused as exc:
        outcome, requests = f"refused: {exc}", []
    else:
        outcome = "enabled; first sync requested"
        await c.health.refresh()
        requests = [(str(entity), request_id) for entity, request_id in started]
    await operators.record(
        pool=c.pool,
        operator=session.user,
        action="onboard: start",
        tenant_id=tenant_id,
        outcome=outcome,
    )
    return render(
        request,
        "action.html",
        session,
        tenant_id=tenant_id,
        action="start syncing",
        outcome=outcome,
        sync_requests=requests,
    )
