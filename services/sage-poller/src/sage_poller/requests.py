"""Per tick, before the schedule: `mlc sync` requests, and the SOAP-only tenant's message."""

from __future__ import annotations

import logging
import time

import httpx
from mlc_core.kafka import Publisher
from mlc_core.logging import ctx
from mlc_core.sage.agent import SageAgentClient
from mlc_core.sage.errors import SageError
from mlc_core.sage.soap import SageSoapClient
from mlc_core.tenants import Tenant

from sage_poller.handlers import PollResult, poll_entity
from sage_poller.outbox import OutboxRelay
from sage_poller.retry import PollGaveUp, Retrier
from sage_poller.schedule import Schedule
from sage_poller.store import PollerStore
from sage_poller.sync import KeySources, NoSourceForKey, SyncRequest, SyncStore, resync_key

log = logging.getLogger(__name__)


def agent_client(http: httpx.AsyncClient, tenant: Tenant) -> SageAgentClient | None:
    if not tenant.config.sage.agent_url:
        return None
    token = tenant.secrets.sage_agent_token.get_secret_value()
    return SageAgentClient(http, base_url=tenant.config.sage.agent_url, token=token)


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
    def __init__(
        self,
        *,
        overlap_seconds: float,
        page_size: int,
        attempts: int,
        http: httpx.AsyncClient,
        store: PollerStore,
        outbox: OutboxRelay,
        publisher: Publisher,
        sync_store: SyncStore,
    ) -> None:
        self._overlap, self._page_size, self._attempts = overlap_seconds, page_size, attempts
        self._http, self._store, self._outbox = http, store, outbox
        self._publisher, self._requests = publisher, sync_store

    async def run_pending(self, tenant: Tenant) -> None:
        try:
            claimed = await self._requests.claim(tenant.tenant_id)
        except Exception:
            log.exception("cannot read sync requests", extra=ctx(tenant=tenant.tenant_id))
            return
        for request in claimed:
            await self.run_one(tenant, request)

    async def run_one(self, tenant: Tenant, request: SyncRequest) -> PollResult:
        """Runs one request and records its outcome; never raises (one bad request must not
        stop the tenant's polling)."""
        result, error = PollResult(), None
        started = time.monotonic()
        try:
            result = await self._execute(tenant, request)
        except (SageError, PollGaveUp, NoSourceForKey, ValueError) as exc:
            error = f"{request.mode} {request.entity}: {exc}"
        except Exception as exc:
            log.exception("sync request failed", extra=ctx(tenant=tenant.tenant_id))
            error = f"{request.mode} {request.entity}: {exc!r}"
        await self._requests.finish(request.request_id, result, error)
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
        retrier = Retrier(tenant.tenant_id, request.entity, self._publisher, self._attempts)
        agent = agent_client(self._http, tenant)
        if request.mode == "key":
            sources = KeySources(agent, soap_client(self._http, tenant))
            return await resync_key(
                request, tenant=tenant, sources=sources, outbox=self._outbox, retrier=retrier
            )
        if agent is None:
            raise NoSourceForKey(soap_only_message(tenant))

        async def progress(result: PollResult) -> None:
            await self._requests.progress(request.request_id, result)

        return await poll_entity(
            tenant=tenant,
            entity=request.entity,
            agent=agent,
            store=self._store,
            outbox=self._outbox,
            overlap_seconds=self._overlap,
            retrier=retrier,
            page_size=self._page_size,
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
        schedule.polled(entity, now)
    for entity in schedule.due_reconciles(list(tenant.config.entities), now):
        schedule.reconciled(entity, now)
