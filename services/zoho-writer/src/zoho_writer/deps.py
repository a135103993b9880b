"""What the writer's handlers need, passed explicitly (no hidden singletons)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import httpx
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Backoff, Publisher

from zoho_writer.limiter import TenantLimiter
from zoho_writer.parking import ParkingStore
from zoho_writer.store import WriterStore
from zoho_writer.tenant_state import TenantState
from zoho_writer.tokens import TokenProvider


@dataclass(frozen=True)
class RetryPolicy:
    # A few quick attempts ride out a blip (a 5xx, a timeout). A longer outage becomes failed
    # outcomes and dead letters that `mlc replay` re-drives, instead of holding the partition,
    # which other tenants share, for as long as one tenant's Zoho is down. 429s are not
    # retried here: they pause the tenant (WritePolicy).
    attempts: int = 4
    backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=15.0))


@dataclass(frozen=True)
class WritePolicy:
    # Zoho sends no Retry-After (zoho-crm.md §5): a 429 pauses the tenant for `pause_seconds`,
    # doubling for each pause that follows without a successful write in between, up to the cap.
    pause_seconds: float = 30.0
    pause_cap_seconds: float = 900.0
    # Credits refill as the rolling 24 h window moves: wait long, then probe with one batch.
    credit_pause_seconds: float = 900.0
    credit_reserve: int = 10  # one full batch of 100 costs 10 credits
    # A missing parent is usually a few seconds behind (another partition): retry soon, then
    # less often; after `parent_attempts` the child fails (retryable, dead letter) for a human.
    parent_retry_seconds: float = 5.0
    parent_retry_cap_seconds: float = 600.0
    parent_attempts: int = 40
    module_recheck: timedelta = timedelta(days=1)
    edition_max_age: timedelta = timedelta(days=1)
    default_edition: str = "free"


@dataclass(frozen=True)
class WriterDeps:
    pool: asyncpg.Pool
    keyring: KeyRing
    http: httpx.AsyncClient
    tokens: TokenProvider
    store: WriterStore
    state: TenantState
    parking: ParkingStore
    limiter: TenantLimiter
    publisher: Publisher
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    policy: WritePolicy = field(default_factory=WritePolicy)
