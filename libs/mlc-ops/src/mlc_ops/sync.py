"""Sync on demand: ask a tenant's poller to poll an entity now ("poll"), re-emit every record
even if unchanged ("full"), or re-read one record ("key"). The request is queued for the
poller, whose tenant loop claims it on its next tick (at most MLC_TENANT_REFRESH_SECONDS
later), writes progress after every page and marks it done or failed with counts."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.sage.entities import SPECS, SourceKeyError
from mlc_core.tenants import load_tenant
from sage_poller.admin import SYNC_FINAL, create_sync_request, sync_request

from mlc_ops.errors import NotFound, OpsError, Refused

# the request as the poller last wrote it: status, seen, emitted, error, started_at, ...
SyncRow = dict[str, Any]
OnProgress = Callable[[SyncRow], None]


class SyncTimedOut(OpsError):
    """The poller has not finished the request in time; it still may."""


async def request_sync(
    *,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    entity: Entity,
    full: bool = False,
    key: str | None = None,
) -> int:
    """Queue the request; returns its id. `key` re-reads that one record; `full` re-emits all."""
    if key is not None:
        try:
            SPECS[entity].key_values(key)
        except SourceKeyError as exc:
            raise Refused(str(exc)) from exc
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    if not tenant.enabled:
        raise Refused(f"tenant {tenant.tenant_id} is disabled (`mlc tenant enable`)")
    mode = "key" if key else "full" if full else "poll"
    return await create_sync_request(
        pool, tenant_id=tenant.tenant_id, entity=str(entity), mode=mode, source_key=key
    )


async def sync_status(*, pool: asyncpg.Pool, request_id: int) -> SyncRow:
    row = await sync_request(pool, request_id)
    if not row:
        raise NotFound(f"no sync request {request_id}")
    return row


async def wait_for_sync(
    *,
    pool: asyncpg.Pool,
    request_id: int,
    give_up_after: float = 3600.0,
    interval: float = 1.0,
    on_progress: OnProgress | None = None,
) -> SyncRow:
    """Poll the request until it is done or failed; `on_progress` sees every changed row."""
    deadline, last = time.monotonic() + give_up_after, None
    while True:
        row = await sync_status(pool=pool, request_id=request_id)
        if on_progress is not None and row != last:
            on_progress(row)
            last = row
        if row["status"] in SYNC_FINAL:
            return row
        if time.monotonic() > deadline:
            raise SyncTimedOut(f"sync request {request_id} still {row['status']}; not waiting")
        await asyncio.sleep(interval)


def describe(row: SyncRow) -> str:
    """One line: what was asked, its state, and its counts and rate so far."""
    what = f"{row['mode']} {row['entity']}" + (f" {row['source_key']}" if row["source_key"] else "")
    head = f"sync #{row['request_id']} {row['tenant_id']} {what}: {row['status']}"
    if row["status"] == "pending":
        return head + " (waiting for the poller's next tick)"
    counts = f", {row['seen']} read, {row['emitted']} emitted"
    started, finished = row["started_at"], row["finished_at"]
    if started is not None:
        end = finished or dt.datetime.now(tz=started.tzinfo)
        seconds = max((end - started).total_seconds(), 1e-3)
        counts += f" in {seconds:.1f}s ({row['seen'] / seconds:,.0f} records/s)"
    return head + counts + (f": {row['error']}" if row["error"] else "")
