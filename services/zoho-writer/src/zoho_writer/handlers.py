"""Thin handler: a batch of commands becomes Zoho upserts and one outcome per command."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
import httpx
from mlc_core.contracts import (
    DeadLetter,
    Topics,
    ZohoUpsertCommand,
    ZohoWriteOutcome,
    decode,
)
from mlc_core.crypto import KeyRing
from mlc_core.kafka import Backoff, Publisher, Record
from mlc_core.logging import ctx
from mlc_core.malformed import malformed_letter
from mlc_core.tenants import Tenant, TenantNotFound, load_tenant
from mlc_core.zoho.errors import ZohoPermanentError, ZohoRetryableError, ZohoTokenInvalid
from mlc_core.zoho.records import RecordResult, upsert
from pydantic import ValidationError

from zoho_writer.service import (
    Failure,
    chunks,
    failed,
    latest_per_record,
    outcomes_for,
    skipped,
    split_stale,
)
from zoho_writer.store import WriterStore
from zoho_writer.tokens import TokenProvider

log = logging.getLogger(__name__)
Output = tuple[str, ZohoWriteOutcome | DeadLetter]


@dataclass(frozen=True)
class RetryPolicy:
    # A few quick attempts ride out a blip (a 5xx, a 429 burst). A longer outage becomes failed
    # outcomes and dead letters that `mlc replay` re-drives, instead of holding the partition,
    # which other tenants share, for as long as one tenant's Zoho is down.
    attempts: int = 4
    backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=15.0))


@dataclass(frozen=True)
class WriterDeps:
    pool: asyncpg.Pool
    keyring: KeyRing
    http: httpx.AsyncClient
    tokens: TokenProvider
    store: WriterStore
    publisher: Publisher
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 10  # Zoho's sub-concurrency for >10-record writes, in every edition


async def handle_batch(records: Sequence[Record], *, deps: WriterDeps) -> None:
    commands: dict[str, list[ZohoUpsertCommand]] = defaultdict(list)
    outputs: list[tuple[str, ZohoWriteOutcome | DeadLetter]] = []
    for record in records:
        try:
            event = decode(record.value or b"")
        except ValidationError as exc:
            outputs.append(
                (Topics.DEAD_LETTERS, malformed_letter(record, exc, stage="zoho-writer"))
            )
            continue
        if isinstance(event, ZohoUpsertCommand):
            commands[event.tenant_id].append(event)
    per_tenant = await asyncio.gather(*(write_tenant(t, c, deps) for t, c in commands.items()))
    outputs += [out for tenant_outputs in per_tenant for out in tenant_outputs]
    await deps.publisher.publish_all(outputs)
    await deps.store.record_applied([o for _, o in outputs if isinstance(o, ZohoWriteOutcome)])


async def write_tenant(
    tenant_id: str, commands: list[ZohoUpsertCommand], deps: WriterDeps
) -> list[Output]:
    try:
        tenant = await load_tenant(deps.pool, keyring=deps.keyring, tenant_id=tenant_id)
    except TenantNotFound as exc:
        failure = Failure("TENANT_UNKNOWN", str(exc), retryable=False)
        return [out for cmd in commands for out in failed(cmd, failure)]
    latest = latest_per_record(commands)
    outputs: list[Output] = [
        (Topics.ZOHO_OUTCOMES, skipped(cmd, "a newer version in the same batch"))
        for cmd in commands
        if cmd not in latest
    ]
    applied = await deps.store.applied(tenant_id, [(c.module, c.external_value) for c in latest])
    fresh, stale = split_stale(latest, applied)
    outputs += [
        (Topics.ZOHO_OUTCOMES, skipped(c, applied[(c.module, c.external_value)])) for c in stale
    ]
    gate = asyncio.Semaphore(deps.concurrency)
    written = await asyncio.gather(
        *(_write_chunk(tenant, ext, chunk, deps, gate) for (_, ext), chunk in chunks(fresh))
    )
    return outputs + [out for chunk_out in written for out in chunk_out]


async def _write_chunk(
    tenant: Tenant,
    external_field: str,
    chunk: list[ZohoUpsertCommand],
    deps: WriterDeps,
    gate: asyncio.Semaphore,
) -> list[Output]:
    async with gate:
        failure = await _attempt_chunk(tenant, external_field, chunk, deps)
    if isinstance(failure, list):
        return outcomes_for(chunk, failure)
    log.error(
        "Zoho write failed",
        extra=ctx(
            tenant=tenant.tenant_id,
            module=chunk[0].module,
            records=len(chunk),
            code=failure.code,
            retryable=failure.retryable,
        ),
    )
    return [out for cmd in chunk for out in failed(cmd, failure)]


async def _attempt_chunk(
    tenant: Tenant, external_field: str, chunk: list[ZohoUpsertCommand], deps: WriterDeps
) -> list[RecordResult] | Failure:
    for attempt in range(deps.retry.attempts):
        try:
            return await _upsert_with_token(tenant, external_field, chunk, deps)
        except ZohoRetryableError as exc:
            last = Failure(exc.code or type(exc).__name__, str(exc), retryable=True)
            log.warning(
                "Zoho write attempt failed",
                extra=ctx(tenant=tenant.tenant_id, attempt=attempt + 1, error=type(exc).__name__),
            )
            if attempt + 1 < deps.retry.attempts:
                await asyncio.sleep(deps.retry.backoff.delay(attempt))
        except ZohoPermanentError as exc:
            return Failure(exc.code or type(exc).__name__, str(exc), retryable=False)
    return last


async def _upsert_with_token(
    tenant: Tenant, external_field: str, chunk: list[ZohoUpsertCommand], deps: WriterDeps
) -> list[RecordResult]:
    token = await deps.tokens.token(tenant)

    async def call(access_token: str, api_domain: str) -> list[RecordResult]:
        return await upsert(
            deps.http,
            api_domain=api_domain,
            access_token=access_token,
            module=chunk[0].module,
            records=[c.record for c in chunk],
            duplicate_check_fields=[external_field],
            trigger=chunk[0].trigger,
        )

    try:
        return await call(token.value, token.api_domain)
    except ZohoTokenInvalid:
        token = await deps.tokens.after_rejection(tenant, token)  # once, then give up
        return await call(token.value, token.api_domain)
