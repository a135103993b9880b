"""Per tick, before the schedule: `mlc sync` requests, and the SOAP-only tenant's message."""

from __future__ import annotations

import logging
import time

import httpx
from mlc_core.logging import ctx
from mlc_core.sage.agent import AgentConnections, SageAgentClient
from mlc_core.sage.errors import SageError
from mlc_core.sage.soap import SageSoapClient
from mlc_core.tenants import Tenant

from sage_poller.deps import PollerDeps
from sage_poller.handlers import PollResult, poll_entity
from sage_poller.retry import PollGaveUp
from sage_poller.schedule import Schedule
from sage_poller.store import PollerStore
from sage_poller.sync import KeySources, NoSourceForKey, SyncRequest, resync_key

log = logging.getLogger(__name__)


def agent_client(agents: AgentConnections, tenant: Tenant) -> SageAgentClient | None:
    if not tenant.config.sage.agent_url:
        return None
    return agents.client(tenant)


def soap_client(http: httpx.AsyncClient, tenant: Tenant) -> SageSoapClient | None:
    sage, password = tenant.config.sage, tenant.secrets.sage_password
    if not sage.soap_url or not sage.username or password is None:
        return None
    wsdl = sage.soap_url if "wsdl" in sage.soap_url.lower() else f"{sage.soap_url}?wsdl"
    return SageSoapClient(
        wsdl_url=wsdl,
        username=sage.username,
        password=password,
        company=sage.company_code,
        http=http,
    )


class SyncRunner:
    """Runs a tenant's `mlc sync` requests, each to an outcome stored for the CLI."""

    def __init__(self, *, deps: PollerDeps) -> None:
        self._deps = deps

    async def run_pending(self, tenant: Tenant) -> None:
        try:
            claimed = await self._deps.sync_store.claim(tenant.tenant_id)
        except Exception:  # one unreadable request must not stop the tenant's regular polls
            log.exception("cannot read sync requests", extra=ctx(tenant=tenant.tenant_id))
            return
        for request in claimed:
            await self.run_one(tenant, request)

    async def run_one(self, tenant: Tenant, request: SyncRequest) -> PollResult:
        """Runs one request and records its outcome; never raises (one bad request must not
        stop the tenant's polling, nor stay claimed without an outcome)."""
        result, error = PollResult(), None
        started = time.monotonic()
        try:
            result = await self._execute(tenant, request)
        except (SageError, PollGaveUp, NoSourceForKey, ValueError) as exc:
            error = f"{request.mode} {request.entity}: {exc}"
        except Exception as exc:  # an unexpected bug still ends the request with its error
            log.exception("sync request failed", extra=ctx(tenant=tenant.tenant_id))
            error = f"{request.mode} {request.entity}: {exc!r}"
        await self._deps.sync_store.finish(request.request_id, result, error)
        log.info(
            "sync request %s",
            "failed" if error else "done",
            extra=ctx(
                tenant=tenant.tenant_id,
                entity=request.entity,
                mode=request.mode,
                request=request.request_id,
                seconds=round(time.monotonic() - started, 2),
                error=error,
                **vars(result),
            ),
        )
        return result

    async def _execute(self, tenant: Tenant, request: SyncRequest) -> PollResult:
        deps = self._deps
        agent = agent_client(deps.agents, tenant)
        if request.mode == "key":
            sources = KeySources(agent, soap_client(deps.http, tenant))
            retrier = deps.retrier(tenant, request.entity)
            return await resync_key(
                request, tenant=tenant, sources=sources, outbox=deps.outbox, retrier=retrier
            )
        if agent is None:
            raise NoSourceForKey(soap_only_message(tenant))

        async def progress(result: PollResult) -> None:
            await deps.sync_store.progress(request.request_id, result)

        return await poll_entity(
            tenant=tenant,
            entity=request.entity,
            io=deps.io(tenant, request.entity, agent),
            overlap_seconds=deps.options.overlap_seconds,
            resync=request.request_id if request.mode == "full" else None,
            progress=progress,
        )


def soap_only_message(tenant: Tenant) -> str:
    tid = tenant.tenant_id
    return (
        f"tenant {tid} has Sage eBusiness Web Services (SOAP) but no agent URL: SOAP has no list"
        " or changed-since operation, so no entity can be polled for changes (AR customers,"
        " contacts, AP vendors, AP invoices, GL accounts and groups, sales orders, AR invoices),"
        " and AP, GL, sales orders and invoices cannot be read at all. AR customers and contacts"
        f" by key still work: `mlc sync {tid} ar_customer --key 01-ABF`. To poll, install the"
        f" agent and run `mlc sage set {tid} --agent-url https://...`."
    )


async def soap_only_cycle(tenant: Tenant, schedule: Schedule, store: PollerStore) -> None:
    """Once per poll cycle at most: one log line, and the message in every due entity's status
    (what `mlc status` shows), instead of a failed poll per entity."""
    now = time.monotonic()
    due = schedule.due_polls(list(tenant.config.entities), now)
    if not due:
        return
    message = soap_only_message(tenant)
    log.warning(message, extra=ctx(tenant=tenant.tenant_id, entities=[str(e) for e in due]))
    for entity in due:
        await store.record_status(tenant.tenant_id, entity, ok=False, error=message)
        schedule.polled(entity, started=now)
    for entity in schedule.due_reconciles(list(tenant.config.entities), now):
        schedule.reconciled(entity, now)
