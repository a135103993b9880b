"""What `mlc ping` checks, one small function per part; each says how to fix a failure.

Every check only reads: the agent's health and one record of each change feed, the SOAP
service's WSDL, a token refresh (Zoho mints an access token; we neither keep nor store it), and
Zoho's org and metadata. Nothing is written to Sage, Zoho or our database.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from mlc_core.contracts import Entity
from mlc_core.sage.agent import ENTITY_PATHS, SageAgentClient
from mlc_core.sage.errors import SageAuthError, SageError, SageNotFound
from mlc_core.sage.soap import SageCompanyNotOnFile, SageSoapClient, SageSoapNoAccess
from mlc_core.tenants import Tenant

Status = Literal["ok", "fail", "skip"]
AGENT_TOKEN = "agent token accepted"  # noqa: S105 - a check name
SOAP_LOGON = "SOAP logon and company"


@dataclass(frozen=True)
class Check:
    part: str
    name: str
    status: Status
    detail: str
    fix: str = ""


def ok(part: str, name: str, detail: str) -> Check:
    return Check(part, name, "ok", detail)


def fail(part: str, name: str, detail: str, fix: str) -> Check:
    return Check(part, name, "fail", detail, fix)


def skip(part: str, name: str, detail: str) -> Check:
    return Check(part, name, "skip", detail)


def is_tls_error(exc: BaseException) -> bool:
    """httpx wraps the ssl error; walk the cause chain instead of reading message text."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unreachable_fix(url: str, exc: BaseException) -> str:
    if is_tls_error(exc):
        return (
            f"the TLS certificate of {url} is not trusted: install its CA (SSL_CERT_FILE) or"
            " give the server a valid certificate"
        )
    return f"check the URL {url}, DNS and firewall, and that the service runs there"


async def sage_agent(http: httpx.AsyncClient, tenant: Tenant) -> list[Check]:
    url = tenant.config.sage.agent_url.rstrip("/")
    try:
        response = await http.get(f"{url}/v1/health")
    except httpx.HTTPError as exc:
        return [
            fail(
                "sage", "agent reachable", f"{url}: {type(exc).__name__}", unreachable_fix(url, exc)
            )
        ]
    if response.status_code >= 400:
        fix = "is agent_url the agent's base URL? (`mlc sage set --agent-url`)"
        return [
            fail("sage", "agent reachable", f"{url}/v1/health answered {response.status_code}", fix)
        ]
    checks = [
        ok("sage", "agent reachable", f"{url} (TLS valid)" if url.startswith("https") else url)
    ]
    return checks + await _agent_feeds(http, tenant)


async def _agent_feeds(http: httpx.AsyncClient, tenant: Tenant) -> list[Check]:
    sage = tenant.config.sage
    agent = SageAgentClient(
        http, base_url=sage.agent_url, token=tenant.secrets.sage_agent_token.get_secret_value()
    )
    checks = []
    for entity in tenant.config.entities:
        checks.append(await _agent_feed(agent, sage.company_code, entity))
        if checks[-1].name == AGENT_TOKEN:
            break  # one refused token says it all
    return checks


async def _agent_feed(agent: SageAgentClient, company: str, entity: Entity) -> Check:
    name = f"agent authorised, {company}/{entity} readable"
    if entity not in ENTITY_PATHS:
        return skip("sage", name, "this agent client has no feed for the entity yet")
    try:
        page = await agent.changes(company=company, entity=entity, since=None, limit=1)
    except SageAuthError:
        fix = "set MLC_SAGE_AGENT_TOKEN to the agent's token, then `mlc sage set <tenant>`"
        return fail("sage", AGENT_TOKEN, "the agent refused our token", fix)
    except SageNotFound:
        fix = f"check the company code (`mlc sage set <tenant> --company`); {company} is unknown"
        return fail("sage", name, f"company {company} not found by the agent", fix)
    except SageError as exc:
        return fail("sage", name, str(exc), "see the agent's log on the Sage server")
    return ok("sage", name, f"{len(page.records)} record(s) read, nothing written")


async def sage_soap(http: httpx.AsyncClient, tenant: Tenant) -> list[Check]:
    url = tenant.config.sage.soap_url
    if not url:
        return [skip("sage", "SOAP web services", "not configured (the agent is used)")]
    wsdl = url if "wsdl" in url.lower() else f"{url}?wsdl"
    try:
        response = await http.get(wsdl)
    except httpx.HTTPError as exc:
        return [
            fail(
                "sage", "SOAP reachable", f"{url}: {type(exc).__name__}", unreachable_fix(url, exc)
            )
        ]
    if response.status_code >= 400:
        fix = "check the eBusiness Web Services URL (`mlc sage set --soap-url`)"
        return [fail("sage", "SOAP reachable", f"WSDL answered {response.status_code}", fix)]
    tls = " (TLS valid)" if url.startswith("https") else " (no TLS: use https outside a lab)"
    return [ok("sage", "SOAP reachable", f"{url}{tls}"), await soap_logon(http, tenant, wsdl)]


async def soap_logon(http: httpx.AsyncClient, tenant: Tenant, wsdl: str) -> Check:
    """Logon, rights and company, by reading a customer key that cannot exist: Sage answers
    CI_NoKey only after it accepted all three. Nothing is written."""
    sage, password = tenant.config.sage, tenant.secrets.sage_password
    if not sage.username or password is None:
        how = "store them to check: `mlc sage set <tenant> --user <U>` with MLC_SAGE_PASSWORD set"
        return skip("sage", SOAP_LOGON, f"no Sage user and password stored; {how}")
    client = SageSoapClient(
        wsdl_url=wsdl,
        username=sage.username,
        password=password,
        company=sage.company_code,
        http=http,
    )
    try:
        await client.check_logon()
    except SageError as exc:
        return soap_failure(exc, sage.username, sage.company_code)
    detail = f"user {sage.username} accepted for company {sage.company_code} (read-only probe)"
    return ok("sage", SOAP_LOGON, detail)


def soap_failure(exc: SageError, user: str, company: str) -> Check:
    if isinstance(exc, SageCompanyNotOnFile):
        fix = f"check the company code (`mlc sage set <tenant> --company`); {company} is unknown"
        return fail("sage", SOAP_LOGON, f"company {company} is not on file", fix)
    if isinstance(exc, SageSoapNoAccess):
        fix = (
            f"in Sage Role Maintenance give {user}'s role View rights on AR Customer"
            " Maintenance (the sync only reads)"
        )
        return fail("sage", SOAP_LOGON, f"{user} may not read customers", fix)
    if isinstance(exc, SageAuthError):
        fix = (
            f"check the user and password (`mlc sage set <tenant> --user {user}` with"
            " MLC_SAGE_PASSWORD), and that the user is enabled for eBusiness Web Services"
        )
        return fail("sage", SOAP_LOGON, f"Sage refused the logon of {user}", fix)
    return fail("sage", SOAP_LOGON, str(exc), "see the eBusiness Web Services event log")


def body_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
