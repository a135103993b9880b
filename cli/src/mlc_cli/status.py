"""`mlc status [tenant]`: polls, watermarks, records waiting, writes and failures of the last
24 h, failing polls, consumer lag, Zoho credits and holds (mlc_ops.status gathers them)."""

from __future__ import annotations

import argparse
from typing import Any

import httpx
from mlc_core.settings import CommonSettings
from mlc_ops.status import consumer_lag as consumer_lag  # kept for callers of this name
from mlc_ops.status import status

from mlc_cli.common import add_json_flag, database, emit, table


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser("status", help="polls, watermarks, lag, writes, failures, credits")
    cmd.add_argument("tenant_id", nargs="?", help="one tenant (default: all)")
    cmd.add_argument("--no-zoho", action="store_true", help="skip the credits read (no Zoho call)")
    add_json_flag(cmd)
    cmd.set_defaults(handler=status_cmd)


async def gather_status(args: argparse.Namespace) -> dict[str, Any]:
    settings = CommonSettings()
    async with database() as (pool, keyring), httpx.AsyncClient(timeout=15) as http:
        found = await status(
            pool=pool,
            keyring=keyring,
            http=None if args.no_zoho else http,
            kafka_bootstrap=settings.kafka_bootstrap,
            tenant_id=args.tenant_id,
        )
    return found.as_json()


def render(status: dict[str, Any]) -> str:
    rows = [
        [
            r["tenant"],
            r["entity"],
            r["last_poll"] or "never",
            r["watermark"] or "-",
            str(r["waiting"]),
            str(r["written_24h"]),
            str(r["failed_24h"]),
            _poll_time(r),
            _poll_errors(r),
        ]
        for r in status["entities"]
    ]
    headers = ["TENANT", "ENTITY", "LAST POLL", "WATERMARK", "WAITING", "WRITTEN 24H"]
    headers += ["FAILED 24H", "LAST POLL TOOK", "POLL FAILURES"]
    lag = "  ".join(f"{g}={n}" for g, n in status["events_waiting"].items())
    credits = "  ".join(f"{t}={c}" for t, c in status["zoho_credits_left"].items())
    parts = [table(rows, headers) if rows else "no polls yet", f"events waiting: {lag}"]
    holds = [f"zoho hold {t}: {h}" for t, h in status["zoho_holds"].items()]
    return "\n".join(parts + ([f"zoho credits left: {credits}"] if credits else []) + holds)


def _poll_time(row: dict[str, Any]) -> str:
    """'4.0 s (3.1 on Sage), 0.4 s late': a slow Sage side, or a poller behind its schedule."""
    took = row.get("poll_seconds")
    if took is None:
        return "-"
    text = f"{took:.1f} s ({row.get('poll_sage_seconds') or 0.0:.1f} on Sage)"
    late = row.get("poll_late_seconds")
    return text + (f", {late:.1f} s late" if late is not None else "")


def _poll_errors(row: dict[str, Any]) -> str:
    if not row["poll_failures"]:
        return "0"
    return f"{row['poll_failures']} in a row: {(row['poll_error'] or '')[:60]}"


async def status_cmd(args: argparse.Namespace) -> None:
    emit(args, await gather_status(args), render)
