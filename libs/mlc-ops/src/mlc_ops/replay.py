"""Replay: re-publish the newest stored event of every matching record from the audit log
(see replay_events for why this converges), or say what would be re-published."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import asyncpg
from audit.admin import ReplayFilter, replay_candidates
from mlc_core.kafka import Publisher, create_producer, ensure_topics

from mlc_ops.replay_events import COMMAND, RAW, SOURCES, Stored, pick_auto, replay_batch

__all__ = ["COMMAND", "RAW", "SOURCES", "ReplayFilter", "ReplayResult", "replay"]

PUBLISH_CHUNK = 500
# (events published so far, events to publish): called after every chunk
OnProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplayResult:
    counts: dict[str, int]  # by event type: RAW (mapped again) and COMMAND (re-sent as is)
    published: bool  # False on a dry run, or when nothing matched

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def replay(
    *,
    pool: asyncpg.Pool,
    kafka_bootstrap: str,
    kafka_partitions: int,
    where: ReplayFilter,
    dry_run: bool = False,
    reason: str | None = None,
    replay_id: uuid.UUID | None = None,
    force: bool = False,
    on_progress: OnProgress | None = None,
) -> ReplayResult:
    """`where.event_type` is RAW, COMMAND or "auto" (per record: the command when one exists
    for the newest version, else the raw event). `force`: the writer writes the re-published
    commands even if its store says Zoho has them (a record changed by hand in Zoho)."""
    stored = await _stored(pool, where)
    counts = dict(Counter(str(payload.get("event_type")) for _, payload in stored))
    if dry_run or not stored:
        return ReplayResult(counts, published=False)
    outgoing = replay_batch(
        stored,
        replay_id=replay_id or uuid.uuid4(),
        reason=reason or ("replay --failed-only" if where.failed_only else "replay"),
        force=force,
    )
    await ensure_topics(kafka_bootstrap, partitions=kafka_partitions)
    producer = create_producer(kafka_bootstrap, client_id="mlc-replay")
    await producer.start()
    if on_progress is not None:
        on_progress(0, len(outgoing))
    try:
        for start in range(0, len(outgoing), PUBLISH_CHUNK):
            chunk = outgoing[start : start + PUBLISH_CHUNK]
            await Publisher(producer).publish_all(chunk)
            if on_progress is not None:
                on_progress(start + len(chunk), len(outgoing))
    finally:
        await producer.stop()
    return ReplayResult(counts, published=True)


async def _stored(pool: asyncpg.Pool, where: ReplayFilter) -> list[Stored]:
    if where.event_type != "auto":
        return [(r["event_id"], r["payload"]) for r in await replay_candidates(pool, where)]
    raw = await replay_candidates(pool, replace(where, event_type=RAW))
    commands = await replay_candidates(pool, replace(where, event_type=COMMAND))
    return pick_auto(
        [(r["event_id"], r["payload"]) for r in raw],
        [(r["event_id"], r["payload"]) for r in commands],
    )
