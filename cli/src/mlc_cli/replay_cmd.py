"""`mlc replay`: re-publish stored events from the audit log, or reset a consumer group.

mlc replay --tenant T [--entity E] [--key K] [--since t] [--failed-only] [--from raw|commands]
mlc replay offsets --group mlc-mapper|mlc-zoho-writer --to-datetime t|--to-earliest|--to-offset N
"""

from __future__ import annotations

import argparse
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

from audit.queries import ReplayFilter, replay_candidates
from mlc_core.db import create_pool
from mlc_core.kafka import Publisher, create_producer, prepare_topics
from mlc_core.settings import CommonSettings

from mlc_cli import replay_offsets as offsets
from mlc_cli.progress import Progress
from mlc_cli.replay_events import COMMAND, RAW, SOURCES, Stored, pick_auto, replay_batch
from mlc_cli.report_tables import render_table

PUBLISH_CHUNK = 500


def when(text: str) -> datetime:
    """ISO 8601; a time without zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = verbs.add_parser("replay", help="re-publish stored events, or reset offsets")
    replay.add_argument("--tenant", help="tenant whose stored events to re-publish")
    replay.add_argument("--entity", help="only this entity, e.g. ar_customer")
    replay.add_argument("--key", help="only this Sage key")
    replay.add_argument("--since", type=when, help="only events that occurred since (ISO 8601)")
    replay.add_argument("--failed-only", action="store_true", help="only records failing now")
    replay.add_argument(
        "--from", dest="source", choices=sorted(SOURCES), default="auto",
        help="raw: Sage events, mapped again; commands: the stored Zoho commands, sent with"
        " no workflow triggers; auto (default): the command when one exists for the newest"
        " version, else the raw event",
    )  # fmt: skip
    replay.add_argument("--dry-run", action="store_true", help="show what would be re-published")
    replay.set_defaults(handler=replay_cmd)
    sub = replay.add_subparsers(dest="action")
    reset = sub.add_parser("offsets", help="reset a consumer group (dry run unless --execute)")
    reset.add_argument("--group", required=True, choices=sorted(offsets.GROUP_TOPICS))
    to = reset.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-datetime", type=when, help="first offset at or after this time")
    to.add_argument("--to-earliest", action="store_true")
    to.add_argument("--to-offset", type=int, help="this offset in every partition")
    reset.add_argument("--execute", action="store_true", help="apply (default: dry run)")
    reset.set_defaults(handler=offsets_cmd)


async def replay_cmd(args: argparse.Namespace) -> None:
    if not args.tenant:
        raise SystemExit("mlc: replay needs --tenant (or the 'offsets' action)")
    settings = CommonSettings()
    where = ReplayFilter(
        tenant_id=args.tenant,
        event_type=SOURCES[args.source],
        entity=args.entity,
        source_key=args.key,
        since=args.since,
        failed_only=args.failed_only,
    )
    counts = await replay(settings, where, dry_run=args.dry_run, show_progress=True)
    verb = "would re-publish" if args.dry_run else "re-published"
    print(
        f"{verb} {sum(counts.values())} event(s) for tenant {args.tenant}:"
        f" {counts.get(RAW, 0)} raw, {counts.get(COMMAND, 0)} command(s)"
    )


async def replay(
    settings: CommonSettings,
    where: ReplayFilter,
    *,
    dry_run: bool = False,
    reason: str | None = None,
    replay_id: uuid.UUID | None = None,
    show_progress: bool = False,
    force: bool = False,
) -> dict[str, int]:
    """Re-publish the newest stored event of every matching record; counts by event type.
    `force`: the writer writes the re-published commands even if it thinks Zoho has them."""
    stored = await _stored(settings, where)
    counts = Counter(str(payload.get("event_type")) for _, payload in stored)
    if dry_run or not stored:
        return dict(counts)
    outgoing = replay_batch(
        stored,
        replay_id=replay_id or uuid.uuid4(),
        reason=reason or ("replay --failed-only" if where.failed_only else "replay"),
        force=force,
    )
    await prepare_topics(settings.kafka_bootstrap)
    producer = create_producer(settings.kafka_bootstrap, client_id="mlc-replay")
    await producer.start()
    # On stderr (a terminal line, or plain lines in a log); stdout keeps the one-line result.
    progress = Progress(
        "re-publishing",
        total=len(outgoing),
        unit="events",
        mode=None if show_progress else "silent",
    )
    try:
        for start in range(0, len(outgoing), PUBLISH_CHUNK):
            chunk = outgoing[start : start + PUBLISH_CHUNK]
            await Publisher(producer).publish_all(chunk)
            progress.advance(len(chunk))
    finally:
        await producer.stop()
    progress.finish()
    return dict(counts)


async def _stored(settings: CommonSettings, where: ReplayFilter) -> list[Stored]:
    pool = await create_pool(settings.database_url.get_secret_value())
    try:
        if where.event_type != "auto":
            return [(r["event_id"], r["payload"]) for r in await replay_candidates(pool, where)]
        raw = await replay_candidates(pool, replace(where, event_type=RAW))
        commands = await replay_candidates(pool, replace(where, event_type=COMMAND))
    finally:
        await pool.close()
    return pick_auto(
        [(r["event_id"], r["payload"]) for r in raw],
        [(r["event_id"], r["payload"]) for r in commands],
    )


async def offsets_cmd(args: argparse.Namespace) -> None:
    bootstrap = CommonSettings().kafka_bootstrap
    target = offsets.Target(
        earliest=args.to_earliest, datetime=args.to_datetime, offset=args.to_offset
    )
    state, members = await offsets.group_members(bootstrap, args.group)
    moves = await offsets.plan(bootstrap, args.group, target)
    print(f"group {args.group}: state {state}, {members} live member(s)")
    print(moves_table(moves))
    if members:
        raise SystemExit(f"mlc: refusing: {args.group} has live members; stop the service first")
    if not args.execute:
        print("dry run: nothing changed; add --execute to apply")
        return
    await offsets.apply(bootstrap, args.group, moves)
    print(f"offsets of {args.group} reset; start the service to re-drive")


def moves_table(moves: list[offsets.Move]) -> str:
    rows = [
        [
            m.topic,
            str(m.partition),
            "-" if m.current is None else str(m.current),
            str(m.target),
            "-" if m.delta is None else f"{m.delta:+d}",
        ]
        for m in moves
    ]
    return render_table(["topic", "partition", "current", "new", "change"], rows)
