"""Zoho calls with the tenant's shared token: refresh once on 401, bounded retries on 5xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mlc_core.contracts import ZohoUpsertCommand
from mlc_core.logging import ctx
from mlc_core.tenants import Tenant
from mlc_core.zoho.errors import (
    ZohoError,
    ZohoModuleUnavailable,
    ZohoPermanentError,
    ZohoRetryableError,
    ZohoTokenInvalid,
    ZohoUnavailable,
)
from mlc_core.zoho.records import WriteReply, update_by_id, upsert

from zoho_writer.deps import WriterDeps
from zoho_writer.hold_policy import Held, hold_for
from zoho_writer.service import Failure

log = logging.getLogger(__name__)
T = TypeVar("T")
Call = Callable[[str, str], Awaitable[T]]  # (access token, api_domain) -> result


@dataclass(frozen=True)
class Blocked:
    """INVALID_MODULE: the org's edition (or the connector user's permissions) lacks it."""

    code: str
    message: str


async def with_token(
    tenant: Tenant, deps: WriterDeps, call: Call[T], notes: list[str] | None = None
) -> T:
    """Run `call` with the tenant's access token; on 401 INVALID_TOKEN refresh once and retry
    (another replica may already have refreshed: then its token is used, no new refresh).
    What was ridden out goes to `notes`, so the outcome (and the audit trail) shows it."""
    token = await deps.tokens.token(tenant)
    try:
        return await bounded(deps, call, token.value, token.api_domain)
    except ZohoTokenInvalid:
        fresh = await deps.tokens.after_rejection(tenant, token)
        if notes is not None:
            notes.append("401 INVALID_TOKEN: access token refreshed")
            if fresh.api_domain != token.api_domain:
                notes.append(f"org moved: api_domain now {fresh.api_domain}")
        return await bounded(deps, call, fresh.value, fresh.api_domain)


async def bounded(deps: WriterDeps, call: Call[T], token: str, domain: str) -> T:
    """One Zoho call within the per-call timeout, all of it (httpx bounds each read, not the
    whole answer); past it the call counts as a timeout (ZohoUnavailable, retryable)."""
    limit = deps.policy.call_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            return await call(token, domain)
    except TimeoutError:
        raise ZohoUnavailable(f"Zoho API {domain} did not answer within {limit:g} s") from None


Answer = Failure | Held | Blocked


async def attempt(
    tenant: Tenant,
    deps: WriterDeps,
    call: Call[T],
    notes: list[str] | None = None,
    *,
    seen: list[ZohoError] | None = None,
) -> T | Answer:
    """`call` with the shared token and a few jittered retries on 5xx and timeouts; what time or
    a person fixes (429, throttle, revoked access, missing module) comes back as a value.
    Each retryable error goes to `seen` as it happens: a share cut by its deadline while these
    retries run is paused for that error (Zoho down), not as merely slow."""
    last = Failure("UNATTEMPTED", "no attempt made", retryable=True)
    for attempt_no in range(deps.retry.attempts):
        try:
            return await with_token(tenant, deps, call, notes)
        except (ZohoRetryableError, ZohoPermanentError) as exc:
            answer = answer_for(exc)
            if not isinstance(answer, Failure) or not answer.retryable:
                return answer
            last = answer
            if seen is not None:
                seen.append(exc)
            if notes is not None:
                notes.append(f"attempt {attempt_no + 1}: {last.code} ({exc.status or 'no answer'})")
            log.warning(
                "Zoho call attempt failed",
                extra=ctx(
                    tenant=tenant.tenant_id, attempt=attempt_no + 1, error=type(exc).__name__
                ),
            )
            if attempt_no + 1 < deps.retry.attempts:
                await asyncio.sleep(deps.retry.backoff.delay(attempt_no))
    return last


def answer_for(exc: ZohoError) -> Answer:
    """What a Zoho error means for the command, by its class: a hold (time or a person fixes
    it), a module the org lacks, or a failure (retryable ones are tried again here first)."""
    held = hold_for(exc)
    if held is not None:
        return Held(held, exc)
    if isinstance(exc, ZohoModuleUnavailable):
        return Blocked(exc.code or "INVALID_MODULE", str(exc))
    retryable = isinstance(exc, ZohoRetryableError)
    return Failure(exc.code or type(exc).__name__, str(exc), retryable=retryable)


async def attempt_chunk(
    tenant: Tenant,
    match_fields: tuple[str, ...],
    chunk: list[ZohoUpsertCommand],
    deps: WriterDeps,
    notes: list[str] | None = None,
    *,
    seen: list[ZohoError] | None = None,
) -> WriteReply | Answer:
    async def call(token: str, domain: str) -> WriteReply:
        if chunk[0].external_field == "id":  # Sage names the record by its Zoho id (a deal)
            return await update_by_id(
                deps.http,
                api_domain=domain,
                access_token=token,
                module=chunk[0].module,
                records=[{"id": c.external_value, **c.record} for c in chunk],
                trigger=chunk[0].trigger,
            )
        return await upsert(
            deps.http,
            api_domain=domain,
            access_token=token,
            module=chunk[0].module,
            records=[c.record for c in chunk],
            duplicate_check_fields=list(match_fields),
            trigger=chunk[0].trigger,
        )

    return await attempt(tenant, deps, call, notes, seen=seen)
