"""Thin route handlers: check the session (and CSRF on POST), call one operation of mlc_ops,
write the operator audit row, render a template."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from mlc_core.crypto import KeyRing
from mlc_core.tenants import TenantNotFound
from mlc_ops import audit, console_views, operators, tenants
from mlc_ops.errors import OpsError
from mlc_ops.passwords import verify_password
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from console import auth, views
from console.settings import ConsoleSettings
from console.snapshot import HealthSnapshot

COOKIE = "mlc_console_session"
Handler = Callable[[Request, auth.Session], Awaitable[Response]]


@dataclass
class Console:
    """Everything a handler needs, built once by main.py."""

    settings: ConsoleSettings
    pool: asyncpg.Pool
    keyring: KeyRing
    http: httpx.AsyncClient
    secret: bytes
    templates: Jinja2Templates
    health: HealthSnapshot


def console_of(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def render(
    request: Request,
    name: str,
    session: auth.Session | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    c = console_of(request)
    csrf = auth.csrf_token(session, secret=c.secret) if session else ""
    return c.templates.TemplateResponse(
        request,
        name,
        {
            "user": session.user if session else None,
            "csrf": csrf,
            "refresh": c.settings.console_refresh_seconds,
            **context,
        },
        status_code=status_code,
    )


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Only with a live session; a POST also needs the session's CSRF token."""

    async def checked(request: Request) -> Response:
        c = console_of(request)
        session = auth.read_session(request.cookies.get(COOKIE), secret=c.secret)
        if session is None:
            if request.method != "GET" or request.headers.get("x-partial"):
                return PlainTextResponse("sign in again", status_code=401)
            return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)
        if request.method == "POST":
            form = await request.form()
            if not auth.csrf_ok(session, str(form.get("csrf") or ""), secret=c.secret):
                return PlainTextResponse("CSRF token missing or wrong", status_code=403)
        try:
            return await handler(request, session)
        except (TenantNotFound, OpsError) as exc:
            return render(request, "error.html", session, message=str(exc), status_code=404)

    return checked


def _loopback(host: str | None) -> bool:
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


async def signin_page(request: Request) -> Response:
    return render(request, "signin.html", None, next=request.query_params.get("next", "/"))


async def signin(request: Request) -> Response:
    c = console_of(request)
    form = await request.form()
    user, password = str(form.get("user") or ""), str(form.get("password") or "")
    target = str(form.get("next") or "/")
    target = target if target.startswith("/") and not target.startswith("//") else "/"
    stored = c.settings.console_admin_password_hash
    stored_hash = stored.get_secret_value() if stored is not None else ""
    good = (
        bool(stored_hash)
        and user == c.settings.console_admin_user
        and verify_password(password, stored_hash)
    )
    await operators.record(
        pool=c.pool, operator=user or "-", action="sign-in", outcome="ok" if good else "refused"
    )
    if not good:
        why = "wrong user or password" if stored_hash else "no admin password is set"
        return render(request, "signin.html", None, status_code=401, next=target, error=why)
    minutes = c.settings.console_session_minutes
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        auth.new_session(user, secret=c.secret, minutes=minutes),
        max_age=minutes * 60,
        httponly=True,
        samesite="lax",
        secure=not _loopback(request.url.hostname),
    )
    return response


@signed_in
async def signout(request: Request, session: auth.Session) -> Response:
    await operators.record(pool=console_of(request).pool, operator=session.user, action="sign-out")
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@signed_in
async def tenants_page(request: Request, session: auth.Session) -> Response:
    return render(request, "tenants.html", session, rows=await _tenant_rows(request))


@signed_in
async def tenants_rows(request: Request, session: auth.Session) -> Response:
    return render(request, "_tenant_rows.html", session, rows=await _tenant_rows(request))


async def _tenant_rows(request: Request) -> list[views.TenantRow]:
    return [views.tenant_row(h) for h in await console_of(request).health.latest()]


@signed_in
async def tenant_page(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    tenant_id = request.path_params["tenant"]
    health = await c.health.one(tenant_id)
    if health is None:
        return render(
            request, "error.html", session, message=f"no tenant {tenant_id}", status_code=404
        )
    groups = await audit.failures(pool=c.pool, tenant_id=tenant_id)
    actions = await operators.recent(pool=c.pool, tenant_id=tenant_id, limit=10)
    return render(
        request,
        "tenant.html",
        session,
        health=health,
        row=views.tenant_row(health),
        failures=views.failure_views(groups),
        actions=actions,
        ago=views.ago,
        when=views.when,
    )


@signed_in
async def tenant_entities(request: Request, session: auth.Session) -> Response:
    health = await console_of(request).health.one(request.path_params["tenant"])
    if health is None:
        return PlainTextResponse("no such tenant", status_code=404)
    return render(request, "_entity_rows.html", session, health=health, ago=views.ago)


@signed_in
async def record_page(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    q = request.query_params
    tenant_id, entity, key, zoho_id = (
        q.get(n, "").strip() for n in ("tenant", "entity", "key", "zoho_id")
    )
    context: dict[str, Any] = {
        "q": {"tenant": tenant_id, "entity": entity, "key": key, "zoho_id": zoho_id}
    }
    links = views.TraceLinks(c.settings.trace_ui_url, c.settings.trace_search_url)
    context["trace_links"] = links
    if tenant_id and (zoho_id or (entity and key)):
        try:
            found = await console_views.record_detail(
                pool=c.pool,
                tenant_id=tenant_id,
                entity=entity or None,
                key=key or None,
                zoho_id=zoho_id or None,
            )
        except OpsError as exc:
            context["error"] = str(exc)
        else:
            context["detail"] = found
            context["traces"] = [(cid, links.search(cid)) for cid in found.correlation_ids]
    tenant_ids = [t.tenant_id for t in await tenants.list_all(pool=c.pool, keyring=c.keyring)]
    return render(
        request,
        "record.html",
        session,
        tenants=tenant_ids,
        when=views.when,
        pretty=views.pretty,
        **context,
    )


@signed_in
async def operators_page(request: Request, session: auth.Session) -> Response:
    c = console_of(request)
    rows = await operators.recent(pool=c.pool, limit=200)
    return render(request, "operators.html", session, actions=rows, when=views.when)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """Ready when PostgreSQL answers: every page reads it."""
    try:
        await console_of(request).pool.fetchval("SELECT 1")
    except (OSError, asyncpg.PostgresError) as exc:
        return PlainTextResponse(f"database: {type(exc).__name__}", status_code=503)
    return PlainTextResponse("ok")
