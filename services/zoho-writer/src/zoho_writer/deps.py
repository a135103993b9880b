"""What the writer's handlers need, passed explicitly (no hidden singletons)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import httpx
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Backoff, Publisher

from zoho_writer.hold import TenantHolds
from zoho_writer.limiter import TenantLimiter
from zoho_writer.org_fields import OrgFields
from zoho_writer.parking import ParkingStore
from zoho_writer.store import WriterStore
from zoho_writer.tenant_state import TenantState
from zoho_writer.tokens import TokenProvider


@dataclass(frozen=True)
class RetryPolicy:
    # A few quick attempts ride out a blip (a 5xx, a timeout). A longer outage parks the
    # commands (PostgreSQL) and pauses the tenant with a growing backoff: the drain writes
    # them later, without a person, and the partition, which other tenants share, is not
    # held meanwhile. 429s are not retried here: they hold the tenant (TenantHolds).
    attempts: int
    backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=15.0))


@dataclass(frozen=True)
class WritePolicy:
    # The tunable numbers come from WriterSettings (their defaults live only there).
    parent_retry_seconds: float
    parent_attempts: int
    default_edition: str
    # Bounds on one Zoho call and on a tenant's share of a batch (WriterSettings says why).
    call_timeout_seconds: float = 30.0
    share_deadline_seconds: float = 120.0
    batch_wait_seconds: float = 3.0
    # A missing parent is usually a few seconds behind (another partition): retry soon, then
    # less often, at most every 10 minutes; after `parent_attempts` the child fails.
    parent_retry_cap_seconds: float = 600.0
    # Zoho is asked for a missing parent only by a child parked this many times (1 + 2 + 4 s
    # at the default retry): a parent this product writes is in writer_versions by then, and
    # during a load with several writer replicas each early lookup (1,000 contacts' parents
    # in flight on another replica) cost a call's latency and took the org's concurrency
    # from the accounts' own writes. A parent only Zoho knows costs its child those seconds.
    parent_lookup_after: int = 3
    # An edition upgrade may add a module, or change the org's concurrency: look again daily.
    module_recheck: timedelta = timedelta(days=1)
    edition_max_age: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class WriterDeps:
    pool: asyncpg.Pool
    keyring: KeyRing
    http: httpx.AsyncClient
    tokens: TokenProvider
    store: WriterStore
    state: TenantState
    parking: ParkingStore
    holds: TenantHolds
    limiter: TenantLimiter
    publisher: Publisher
    retry: RetryPolicy
    policy: WritePolicy
    org_fields: OrgFields = field(default_factory=OrgFields)  # each module's fields, cached
    # Tenants this replica's drain is writing now (drains.Drains keeps it): their new commands
    # join the drain instead of queueing behind it (share.py).
    draining: set[str] = field(default_factory=set)
