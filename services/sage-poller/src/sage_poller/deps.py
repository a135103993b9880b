"""What the poller's loops and sync requests need, passed explicitly (no hidden singletons)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpx
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Publisher
from mlc_core.sage.agent import AgentConnections, SageAgentClient
from mlc_core.tenants import Tenant
from mlc_core.waits import WaitClock

from sage_poller.handlers import PollIO
from sage_poller.outbox import OutboxRelay
from sage_poller.pacing import Pacer
from sage_poller.retry import Retrier
from sage_poller.store import PollerStore
from sage_poller.sync import SyncStore


@dataclass(frozen=True)
class PollOptions:
    """How every poll runs (from PollerSettings)."""

    overlap_seconds: float
    page_size: int
    attempts: int


@dataclass(frozen=True)
class PollerDeps:
    pool: asyncpg.Pool
    keyring: KeyRing
    http: httpx.AsyncClient
    store: PollerStore
    publisher: Publisher
    outbox: OutboxRelay
    sync_store: SyncStore
    options: PollOptions
    agents: AgentConnections  # every agent client, pinned per tenant (mlc_core.sage.agent)
    pacer: Pacer | None = None  # None: bulk pages are not paced

    def retrier(
        self, tenant: Tenant, entity: Entity, *, on_sage: WaitClock | None = None
    ) -> Retrier:
        return Retrier(
            tenant.tenant_id,
            entity,
            self.publisher,
            attempts=self.options.attempts,
            on_sage=on_sage or WaitClock(),
        )

    def io(
        self,
        tenant: Tenant,
        entity: Entity,
        agent: SageAgentClient,
        *,
        on_sage: WaitClock | None = None,
    ) -> PollIO:
        """What a poll of `entity` through the tenant's agent reads from and writes to;
        `on_sage` counts its time on the agent."""
        return PollIO(
            agent=agent,
            store=self.store,
            outbox=self.outbox,
            retrier=self.retrier(tenant, entity, on_sage=on_sage),
            page_size=self.options.page_size,
            pacer=self.pacer,
        )
