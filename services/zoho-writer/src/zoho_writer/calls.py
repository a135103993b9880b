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
    ZohoAuthError,
    ZohoModuleUnavailable,
    ZohoPermanentError,
    ZohoRateLimited,
    ZohoRetryableError,
    ZohoTokenInvalid,
    ZohoTokenThrottled,
)
from mlc_core.zoho.records import WriteReply, upsert

from zoho_writer.deps import WriterDeps
from zoho_writer.service import Failure

log = logging.getLogger(__name__)
T = TypeVar("T")
Call = Callable[[str, str], Awaitable[T]]  # (access token, api_domain) -> result


@dataclass(frozen=True)
class RateLimited:
    """429: concurrency or credits exhausted (the header tells which, when Zoho sends it)."""

    credits_remaining: int | None


@dataclass(frozen=True)
class Blocked:
    """INVALID_MODULE: the org's edition (or the connector user's permissions) lacks it."""

    code: str
    message: str


async def with_token(tenant: Tenant, deps: WriterDeps, call: Call[T]) -> T:
    """Run `call` with the tenant's access token; on 401 INVALID_TOKEN refresh once and retry
    (another replica may already have refreshed: then its token is used, no new refresh)."""
    token = await deps.tokens.token(tenant)
    try:
        return await call(token.value, token.api_domain)
    except ZohoTokenInvalid:
        token = await deps.tokens.after_rejection(tenant, token)
        return await call(token.value, token.api_domain)


async def attempt_chunk(
    tenant: Tenant, external_field: str, chunk: list[ZohoUpsertCommand], deps: WriterDeps
) -> WriteReply | Failure | RateLimited | Blocked:
    async def call(token: str, domain: str) -> WriteReply:
        return await upsert(
            deps.http,
            api_domain=domain,
            access_token=token,
            module=chunk[0].module,
            records=[c.record for c in chunk],
            duplicate_check_fields=[external_field],
            trigger=chunk[0].trigger,
        )

    last = Failure("UNATTEMPTED", "no attempt made", retryable=True)
    for attempt in range(deps.retry.attempts):
        try:
            return await with_token(tenant, deps, call)
        except ZohoRateLimited as exc:
            return RateLimited(exc.credits_remaining)
        except ZohoTokenThrottled:
            # Zoho refuses new tokens for the rest of its 10-minute window: waiting is the fix.
            return RateLimited(None)
        except ZohoModuleUnavailable as exc:
            return Blocked(exc.code or "INVALID_MODULE", str(exc))
        except ZohoRetryableError as exc:
            last = Failure(exc.code or type(exc).__name__, str(exc), retryable=True)
            log.warning(
                "Zoho write attempt failed",
                extra=ctx(tenant=tenant.tenant_id, attempt=attempt + 1, error=type(exc).__name__),
            )
            if attempt + 1 < deps.retry.attempts:
                await asyncio.sleep(deps.retry.backoff.delay(attempt))
        except ZohoAuthError as exc:
            return Failure(exc.code or type(exc).__name__, _reconnect(tenant, exc), False)
        except ZohoPermanentError as exc:
            return Failure(exc.code or type(exc).__name__, str(exc), retryable=False)
    return last


def _reconnect(tenant: Tenant, exc: ZohoAuthError) -> str:
    return (
        f"{exc}; the connector's Zoho access is gone (revoked or replaced): run"
        f" `mlc zoho connect {tenant.tenant_id} --dc {tenant.config.zoho.dc}`, then replay"
    )
