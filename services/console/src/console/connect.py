"""Connect Zoho (the OAuth 2.0 authorization-code flow) and Connect Sage (test before save).

Zoho: the form posts the data centre, client id and (when new) the client secret; the console
keeps them, with a random `state`, in a short-lived cookie sealed with the master keys
(AES-GCM, bound to the session), and sends the browser to the tenant's accounts server. Zoho's
redirect comes back to /zoho/callback: the state must match, the accounts server must be
Zoho's or the tenant's own, and mlc_ops.tenants.connect_zoho (what `mlc zoho connect` runs)
exchanges the code and stores the refresh token encrypted.

Sage: the agent URL, token and company are checked with ping's Sage checks on the candidate
settings; only when they pass are they saved (mlc_ops.tenants.save, as `mlc sage set`)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from mlc_core.crypto import CryptoError
from mlc_core.tenants import Tenant, TenantNotFound
from mlc_core.zoho.consent import (
    ConsentError,
    accounts_server,
    authorization_url,
    redirect_grant,
)
from mlc_core.zoho.errors import ZohoError
from mlc_ops import operators, ping_checks, tenants
from pydantic import SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console import auth
from console.handlers import console_of, render, signed_in

OAUTH_COOKIE = "mlc_console_oauth"
OAUTH_MINUTES = 10
CALLBACK = "/zoho/callback"


def _aad(session: auth.Session) -> str:
    return f"mlc-console-oauth|{session.nonce}"


def _callback_url(request: Request) -> str:
    return str(request.url_for("zoho_callback"))


@signed_in
async def connect_zoho_page(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant = await tenants.get(
        pool=c.pool, keyring=c.keyring, tenant_id=request.path_params["tenant"]
    )
    return render(
        request, "connect_zoho.html", session, tenant=tenant, callback=_callback_url(request)
    )


@signed_in
async def connect_zoho_start(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    form = await request.form()
    tenant_id = request.path_params["tenant"]
    tenant = await tenants.get(pool=c.pool, keyring=c.keyring, tenant_id=tenant_id)
    dc = str(form.get("dc") or tenant.config.zoho.dc)
    client_id = str(form.get("client_id") or tenant.config.zoho.client_id).strip()
    try:
        server = _accounts_url(tenant, dc)
    except ConsentError as exc:
        return render(
            request,
            "connect_zoho.html",
            session,
            tenant=tenant,
            error=str(exc),
            callback=_callback_url(request),
            status_code=400,
        )
    state = secrets.token_urlsafe(24)
    pending = {
        "tenant": tenant_id,
        "dc": dc,
        "client_id": client_id,
        "accounts_url": server,
        "state": state,
        "secret": str(form.get("client_secret") or ""),
        "expires": time.time() + OAUTH_MINUTES * 60,
    }
    sealed = c.keyring.encrypt(json.dumps(pending).encode(), aad=_aad(session)).hex()
    target = authorization_url(
        dc=dc,
        client_id=client_id,
        redirect_uri=_callback_url(request),
        state=state,
        accounts_url=server,
    )
    await operators.record(
        pool=c.pool,
        operator=session.user,
        action="connect zoho: start",
        tenant_id=tenant_id,
        outcome=f"sent to {server}",
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        OAUTH_COOKIE,
        sealed,
        max_age=OAUTH_MINUTES * 60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=CALLBACK,
    )
    return response


def _accounts_url(tenant: Tenant, dc: str) -> str:
    """The tenant's own accounts server for its data centre (an emulator, a proxy), else
    Zoho's for the chosen one."""
    if dc == tenant.config.zoho.dc and tenant.config.zoho.accounts_url:
        return tenant.config.zoho.accounts_url.rstrip("/")
    return accounts_server(dc)


def _pending(request: Request, session: auth.Session) -> dict[str, Any] | None:
    c = console_of(request)
    sealed = request.cookies.get(OAUTH_COOKIE)
    if not sealed:
        return None
    try:
        found: dict[str, Any] = json.loads(
            c.keyring.decrypt(bytes.fromhex(sealed), aad=_aad(session))
        )
    except (ValueError, CryptoError):
        return None
    return found if found.get("expires", 0) > time.time() else None


@signed_in
async def zoho_callback(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    pending = _pending(request, session)
    if pending is None:
        return _connect_done(
            request,
            session,
            None,
            "refused: no connection under way"
            " (it expired after 10 minutes, or began in another session)",
        )
    tenant_id = pending["tenant"]
    outcome = await _exchange(request, pending)
    await operators.record(
        pool=c.pool,
        operator=session.user,
        action="connect zoho",
        tenant_id=tenant_id,
        outcome=outcome,
    )
    response = _connect_done(request, session, tenant_id, outcome)
    response.delete_cookie(OAUTH_COOKIE, path=CALLBACK)
    return response


async def _exchange(request: Request, pending: dict[str, Any]) -> str:
    c = console_of(request)
    try:
        grant = redirect_grant(
            str(request.url),
            default_dc=pending["dc"],
            state=pending["state"],
        )
        tenant = await tenants.get(pool=c.pool, keyring=c.keyring, tenant_id=pending["tenant"])
        config = tenant.config.zoho.model_copy(
            update={
                "dc": grant.location or pending["dc"],
                "client_id": pending["client_id"],
                "accounts_url": grant.accounts_server,
            }
        )
        secret = (
            SecretStr(pending["secret"]) if pending["secret"] else tenant.secrets.zoho_client_secret
        )
        connected = await tenants.connect_zoho(
            pool=c.pool,
            keyring=c.keyring,
            http=c.http,
            tenant=tenant,
            config=config,
            client_secret=secret,
            grant=grant,
            redirect_uri=_callback_url(request),
        )
    except (ConsentError, ZohoError, TenantNotFound) as exc:
        return f"refused: {exc}"
    return f"connected: Zoho {config.dc}, API at {connected.api_domain}"


def _connect_done(
    request: Request, session: auth.Session, tenant_id: str | None, outcome: str
) -> Response:
    return render(
        request,
        "action.html",
        session,
        tenant_id=tenant_id or "",
        action="connect zoho",
        outcome=outcome,
    )


@signed_in
async def connect_sage_page(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant = await tenants.get(
        pool=c.pool, keyring=c.keyring, tenant_id=request.path_params["tenant"]
    )
    return render(request, "connect_sage.html", session, tenant=tenant)


@signed_in
async def connect_sage(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    form = await request.form()
    tenant = await tenants.get(
        pool=c.pool, keyring=c.keyring, tenant_id=request.path_params["tenant"]
    )
    try:
        candidate = _with_sage(tenant, form)
    except ValidationError as exc:
        return render(
            request,
            "connect_sage.html",
            session,
            tenant=tenant,
            status_code=400,
            error="; ".join(e["msg"] for e in exc.errors()),
        )
    checks = await ping_checks.sage_agent(c.http, candidate)
    failed = [ch for ch in checks if ch.status == "fail"]
    if failed:
        outcome = f"not saved: {len(failed)} of {len(checks)} Sage checks failed"
    else:
        await tenants.save(pool=c.pool, keyring=c.keyring, tenant=candidate)
        outcome = f"saved: all {len(checks)} Sage checks passed"
    await operators.record(
        pool=c.pool,
        operator=session.user,
        action="connect sage",
        tenant_id=tenant.tenant_id,
        outcome=outcome,
    )
    return render(
        request,
        "action.html",
        session,
        tenant_id=tenant.tenant_id,
        action="connect sage",
        outcome=outcome,
        checks=checks,
    )


def _with_sage(tenant: Tenant, form: Any) -> Tenant:
    sage = tenant.config.sage.model_copy(
        update={
            "agent_url": str(form.get("agent_url") or "").strip(),
            "company_code": str(form.get("company_code") or "").strip().upper(),
        }
    )
    type(sage).model_validate(sage.model_dump())  # the same limits as `mlc sage set`
    token = str(form.get("agent_token") or "")
    plain = tenant.secrets.plain() | ({"sage_agent_token": token} if token else {})
    return tenant.model_copy(
        update={
            "config": tenant.config.model_copy(update={"sage": sage}),
            "secrets": type(tenant.secrets).model_validate(plain),
        }
    )
