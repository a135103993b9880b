"""`mlc replay`: re-publish stored events from the audit log, or reset a consumer group.

mlc replay --tenant T [--entity E] [--key K] [--since t] [--failed-only] [--from raw|commands]
mlc replay offsets --group mlc-mapper|mlc-zoho-writer --to-datetime t|--to-earliest|--to-offset N
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mlc_core.settings import CommonSettings
from mlc_ops import offsets
from mlc_ops.replay import COMMAND, RAW, SOURCES, ReplayFilter, replay

from mlc_cli.common import pool_only
from mlc_cli.progress import Progress
from mlc_cli.report_tables import render_table


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
    # On stderr (a terminal line, or plain lines in a log); stdout keeps the one-line result.
    progress: Progress | None = None

    def show(done: int, total: int) -> None:
        nonlocal progress
        progress = progress or Progress("re-publishing", total=total, unit="events")
        progress.update(done)

    async with pool_only() as pool:
        result = await replay(
            pool=pool,
            kafka_bootstrap=settings.kafka_bootstrap,
            kafka_partitions=settings.kafka_partitions,
            where=where,
            dry_run=args.dry_run,
            on_progress=show,
        )
    if progress is not None:
        progress.finish()
    verb = "would re-publish" if args.dry_run else "re-published"
    print(
        f"{verb} {result.total} event(s) for tenant {args.tenant}:"
        f" {result.counts.get(RAW, 0)} raw, {result.counts.get(COMMAND, 0)} command(s)"
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
