"""One poll of one tenant's entity: page through the change feed, emit, then move the watermark.

Each page's events, versions and new watermark are committed in one PostgreSQL transaction
(the outbox, outbox.py); the relay then publishes them (while the next page is planned) and
removes them after Kafka's acks; a poll returns once its last page is published. A
crash anywhere in between loses nothing: queued events go out on the next drain, with their
deterministic ids, so downstream sees duplicates only as redeliveries of the same event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mlc_core.contracts import DeadLetter, Entity, Topics
from mlc_core.entities.sage import SAGE_TABLES
from mlc_core.logging import ctx
from mlc_core.sage.agent import ChangePage, SageAgentClient
from mlc_core.sage.errors import SageNotFound
from mlc_core.tenants import Tenant

from sage_poller.listing import (
    KEYED_READ_CONCURRENCY,
    MAX_KEYED_READS,
    MAX_LISTED,
    keys_to_read,
    listing_window,
)
from sage_poller.outbox import OutboxRelay, PageRelay, page_relay
from sage_poller.pacing import PACED_SLICE, Beat, Pacer
from sage_poller.pages import change_pages
from sage_poller.renumber import find_moves, moves_in_poll
from sage_poller.retry import Retrier
from sage_poller.service import (
    Known,
    Moves,
    PollContext,
    Stamp,
    candidate_keys,
    delete_event,
    history_start,
    plan_page,
    since_for,
)
from sage_poller.store import PollerStore, requested_columns
from sage_poller.validation import valid_source_key

log = logging.getLogger(__name__)
# Records per agent page. Every page costs an HTTP round trip, a PostgreSQL commit and a wait
# for Kafka's acks whatever its size, so 2000 (about 2 MB of JSON for customers, well under the
# client's 64 MB cap and the agent's 5000 limit) spends far less on those than 500 did.
DEFAULT_PAGE_SIZE = 2000


@dataclass(frozen=True)
class PollIO:
    """What one poll or reconciliation of a tenant's entity reads from and writes to."""

    agent: SageAgentClient
    store: PollerStore
    outbox: OutboxRelay
    retrier: Retrier
    page_size: int = DEFAULT_PAGE_SIZE
    pacer: Pacer | None = None  # bulk pages wait while the pipeline is backed up (pacing.py)

    async def paced(
        self, tenant_id: str, page: int, relay: PageRelay, beat: Beat | None = None
    ) -> None:
        """Before a poll's page: the first goes at once; a later one waits until the pages
        before it are in Kafka (so the backlog read counts them), then for the pipeline."""
        if page > 0 and self.pacer is not None:
            await relay.wait()
            await self.pacer.admit(tenant_id=tenant_id, beat=beat)


@dataclass
class PollResult:
    seen: int = 0
    emitted: int = 0
    unchanged: int = 0
    invalid: int = 0
    renumbered: int = 0
    outside_window: int = 0  # AR invoice history older than the tenant's window: not sent


Progress = Callable[["PollResult"], Awaitable[None]]


async def poll_entity(
    *,
    tenant: Tenant,
    entity: Entity,
    io: PollIO,
    overlap_seconds: float,
    resync: int | None = None,
    progress: Progress | None = None,
    previous_start: datetime | None = None,
) -> PollResult:
    """A poll from the watermark; with `resync` (a sync request id) a full re-sync instead:
    every record from the start, re-emitted whatever its hash, the watermark left alone.
    `previous_start`: when this process's last successful poll of the entity began (UTC),
    which narrows the stamp listing (listing.listing_since)."""
    store = io.store
    poll = replace(await read_context(tenant, entity, store), resync=resync)
    watermark = None if resync is not None else await store.watermark(tenant.tenant_id, entity)
    # The overlap re-reads recent stamps: rows committed late in Sage, or sharing the last stamp.
    now = datetime.now(UTC)
    since = since_for(watermark, overlap_seconds, poll.time_zone, now) if watermark else None
    result = PollResult()
    # Not on a first poll (every key is new) nor a re-sync (nothing is compared).
    finder = _move_finder(poll, io) if watermark and SAGE_TABLES[entity].renumbers else None
    window = None
    if watermark and since:  # a first poll and a re-sync read every record from the feed
        window = listing_window(
            watermark,
            since,
            now=now,
            sage_zone=poll.time_zone,
            overlap_seconds=overlap_seconds,
            previous_start=previous_start,
        )
    if window and await _poll_listed(poll, io, window, result, finder):
        log.info("poll done", extra=ctx(tenant=tenant.tenant_id, entity=entity, **vars(result)))
        return result
    beat = (lambda: progress(result)) if progress is not None else None
    async with relayed_pages(io, poll, since) as (relay, pages):
        async for n, records in _numbered(pages, PACED_SLICE if io.pacer else None):
            await io.paced(poll.tenant_id, n, relay, beat)
            await _handle_page(
                records,
                poll=poll,
                store=store,
                relay=relay,
                result=result,
                move_watermark=resync is None,
                finder=finder,
            )
            if progress is not None:
                await progress(result)
    log.info("poll done", extra=ctx(tenant=tenant.tenant_id, entity=entity, **vars(result)))
    return result


async def _poll_listed(
    poll: PollContext,
    io: PollIO,
    stamps: tuple[Stamp, Stamp],
    result: PollResult,
    finder: MoveFinder | None,
) -> bool:
    """An incremental poll from the agent's stamp listing (listing.py): only the records we
    lack are read, by key. False when the change feed must be read instead: more rows than
    MAX_KEYED_READS, a key that is not one, or an agent without the listing."""
    since, reread = stamps  # where the listing starts; from where rows are read again
    try:
        listing = await io.retrier.call(
            "stamps",
            lambda: io.agent.stamps(
                company=poll.company_code,
                entity=poll.entity,
                since=(since.date, since.hours),
                limit=MAX_LISTED,
            ),
        )
    except SageNotFound:
        return False
    listed = [key for key, _, _ in listing.stamps]
    if not listing.complete or not all(valid_source_key(k, poll.entity) for k in listed):
        return False  # a damaged key: the change feed reports its record by name
    known = await io.store.known(poll.tenant_id, poll.entity, listed)
    wanted = keys_to_read(listing.stamps, known, reread)
    if len(wanted) > MAX_KEYED_READS:
        return False
    records = await _read_keys(wanted, poll, io) if wanted else []
    if records:
        async with page_relay(io.outbox, poll.tenant_id) as relay:
            await _handle_page(
                records, poll=poll, store=io.store, relay=relay, result=result, finder=finder
            )
    result.seen = len(listed)  # the listed rows, whether read again or not
    return True


async def _read_keys(keys: list[str], poll: PollContext, io: PollIO) -> list[dict[str, Any]]:
    """The records by key, in the listing's order; one deleted since the listing is left out
    (the key reconciliation reports the delete)."""
    gate = asyncio.Semaphore(KEYED_READ_CONCURRENCY)

    async def read(key: str) -> dict[str, Any] | None:
        async def fetch() -> dict[str, Any] | None:
            try:
                return await io.agent.fetch(
                    company=poll.company_code,
                    entity=poll.entity,
                    source_key=key,
                    include=poll.include,
                )
            except SageNotFound:
                return None

        async with gate:
            return await io.retrier.call("fetch", fetch)

    found = await asyncio.gather(*(read(key) for key in keys))
    return [record for record in found if record is not None]


@contextlib.asynccontextmanager
async def relayed_pages(
    io: PollIO, poll: PollContext, since: Stamp | None
) -> AsyncIterator[tuple[PageRelay, AsyncGenerator[ChangePage, None]]]:
    """The feed's pages, and the relay that publishes each committed page in the background;
    on leaving, the page fetch is closed and the last drain has finished (or failed)."""
    async with (
        page_relay(io.outbox, poll.tenant_id) as relay,
        contextlib.aclosing(
            change_pages(io.agent, io.retrier, poll, since=since, page_size=io.page_size)
        ) as pages,
    ):
        yield relay, pages


async def read_context(tenant: Tenant, entity: Entity, store: PollerStore) -> PollContext:
    """The poll's context with the sensitive columns the tenant's map asks for."""
    include = await requested_columns(store.pool, tenant.tenant_id, entity)
    return replace(poll_context(tenant, entity), include=include)


def poll_context(tenant: Tenant, entity: Entity) -> PollContext:
    zone, sage = ZoneInfo(tenant.config.sage.time_zone), tenant.config.sage
    history_from = None
    if entity is Entity.AR_INVOICE:
        today = datetime.now(UTC).astimezone(zone).date()
        history_from = history_start(sage.invoice_history_months, today)
    return PollContext(
        tenant_id=tenant.tenant_id,
        entity=entity,
        company_code=sage.company_code,
        time_zone=zone,
        history_from=history_from,
    )


@dataclass
class ReconcileResult:
    deleted: int = 0
    refreshed: int = 0
    renumbered: int = 0


async def reconcile_entity(*, tenant: Tenant, entity: Entity, io: PollIO) -> ReconcileResult:
    """Compare Sage's full key set (with content hashes) against what we emitted.

    Keys Sage has that we never emitted, or whose content hash differs, were written without
    touching the stamps (a Visual Integrator import, a renumbering) or with stamps behind the
    watermark (Sage's clock went back): those records are read again in full and planned like
    any change. A new record that is a gone key's record renumbered (renumber.py) goes out
    as a change of the new key naming the old one. Other keys we emitted that Sage no longer
    has become delete events.
    """
    store = io.store
    poll = await read_context(tenant, entity, store)
    in_sage = await io.retrier.call(
        "keys",
        lambda: io.agent.keys(company=poll.company_code, entity=entity, include=poll.include),
    )
    known = await store.all_versions(tenant.tenant_id, entity)
    gone = {k: known[k] for k in sorted(set(known) - set(in_sage))}
    stale = {
        k
        for k, digest in in_sage.items()
        if (k not in known or known[k].digest.hex() != digest) and valid_source_key(k, entity)
    }
    result, moved = ReconcileResult(), dict[str, str]()
    if stale:
        fresh = {k for k in stale if k not in known}
        result.refreshed, moved = await _refresh(stale, poll, io, gone=gone, fresh=fresh)
    if gone:
        renumbered = set(moved.values())
        deletes = [
            (Topics.SAGE_CHANGES, delete_event(k, v, poll))
            for k, v in gone.items()
            if k not in renumbered
        ]
        await store.forget(tenant.tenant_id, entity, list(gone), deletes)
        await io.outbox.drain(tenant.tenant_id)
        result.deleted, result.renumbered = len(deletes), len(moved)
    log.info("reconciled", extra=ctx(tenant=poll.tenant_id, entity=entity, **vars(result)))
    return result


async def _refresh(
    stale: set[str], poll: PollContext, io: PollIO, *, gone: dict[str, Known], fresh: set[str]
) -> tuple[int, dict[str, str]]:
    """Re-read the whole feed (no watermark) and plan only the stale keys; returns how many
    were emitted and the renumbered ones found ({new key: old key})."""
    result, moved = PollResult(), dict[str, str]()
    left = dict(gone)
    async with relayed_pages(io, poll, None) as (relay, pages):
        sent = 0
        async for page in pages:
            keyed = [(_key_or_none(r, poll.entity), r) for r in page.records]
            wanted = [(k, r) for k, r in keyed if k in stale]
            if not wanted:
                continue
            await io.paced(poll.tenant_id, sent, relay)
            sent += 1
            new = [(k, r) for k, r in wanted if k is not None and k in fresh]
            found = find_moves(new, left, poll) if left and new else {}
            moved |= found
            moves = {n: (o, left.pop(o)) for n, o in found.items()}
            await _handle_page(
                [r for _, r in wanted],
                poll=poll,
                store=io.store,
                relay=relay,
                result=result,
                move_watermark=False,
                moves=moves,
            )
    return result.emitted, moved


async def _numbered(
    pages: AsyncGenerator[ChangePage, None], size: int | None
) -> AsyncIterator[tuple[int, list[dict[str, Any]]]]:
    """The pages' records, numbered; cut into slices of `size` when paced (each slice is
    committed and relayed like a page, so the pacer admits the load in smaller steps)."""
    n = 0
    async for page in pages:
        step = size or len(page.records) or 1
        for start in range(0, max(len(page.records), 1), step):
            yield n, page.records[start : start + step]
            n += 1


MoveFinder = Callable[[list[dict[str, Any]], dict[str, Known]], Awaitable[Moves]]


def _move_finder(poll: PollContext, io: PollIO) -> MoveFinder:
    async def gone(key: str) -> bool:
        async def fetch() -> bool:
            try:
                await io.agent.fetch(company=poll.company_code, entity=poll.entity, source_key=key)
            except SageNotFound:
                return True
            return False

        return await io.retrier.call("fetch", fetch)

    async def find(records: list[dict[str, Any]], known: dict[str, Known]) -> Moves:
        return await moves_in_poll(records, known=known, poll=poll, store=io.store, gone=gone)

    return find


def _key_or_none(record: dict[str, Any], entity: Entity) -> str | None:
    keys = candidate_keys([record], entity)
    return keys[0] if keys else None


async def _handle_page(
    records: list[dict[str, object]],
    *,
    poll: PollContext,
    store: PollerStore,
    relay: PageRelay,
    result: PollResult,
    move_watermark: bool = True,
    moves: Moves | None = None,
    finder: MoveFinder | None = None,
) -> None:
    known = await store.known(poll.tenant_id, poll.entity, candidate_keys(records, poll.entity))
    if finder is not None:
        moves = await finder(records, known)
    plan = plan_page(records, known=known, poll=poll, moves=moves)
    newest = plan.newest if move_watermark else None
    queued = await store.commit_page(
        poll.tenant_id, poll.entity, plan.versions, newest, plan.events
    )
    # The old keys of renumbered records sent now live on under their new keys: never deletes.
    moved = [old for new, (old, _) in (moves or {}).items() if new in plan.versions]
    if moved:
        await store.forget(poll.tenant_id, poll.entity, moved)
        result.renumbered += len(moved)
    await relay.page_committed(queued)  # publishes while the next page is planned
    letters = [event for topic, event in plan.events if isinstance(event, DeadLetter)]
    for letter in letters:
        log.error(
            letter.error_message,
            extra=ctx(
                tenant=poll.tenant_id, entity=poll.entity, key=letter.source_key, field=letter.field
            ),
        )
    invalid = len(letters)
    result.seen += len(records)
    result.emitted += len(plan.events) - invalid
    result.unchanged += plan.unchanged
    result.outside_window += plan.outside_window
    result.invalid += invalid
