"""`python -m chaos` (`make chaos`): the fault suite, then the noisy-neighbour scenario
(`--scenario bounce|noisy` runs one of them). Needs MLC_KAFKA_BOOTSTRAP and
MLC_DATABASE_ADMIN_URL (deploy/local/chaos.sh starts both and exports them)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from chaos import noisy_verify
from chaos.noisy import NoisyOptions, run_noisy
from chaos.runner import Options, run
from chaos.verify import render

SCENARIOS = ("all", "bounce", "noisy")


def parse_args(argv: Sequence[str] | None = None) -> tuple[str, Options, NoisyOptions]:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__)
    parser.add_argument("--scenario", choices=SCENARIOS, default="all")
    parser.add_argument("--minutes", type=float, help="chaos window (default 6, --quick 2)")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same fault plan")
    parser.add_argument("--quick", action="store_true", help="2 minutes, 600 customers, 2 rounds")
    parser.add_argument("--customers", type=int, help="over all tenants (default 2000, quick 600)")
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--settle-timeout", type=float, default=900.0, help="seconds")
    parser.add_argument(
        "--big-rows", type=int, help="noisy: the big table's rows (default 200000, quick 5000)"
    )
    parser.add_argument(
        "--noisy-seconds", type=float, help="noisy: the noisy window (default 240, quick 90)"
    )
    args = parser.parse_args(argv)
    state = Path(os.environ.get("MLC_STATE_DIR", ".local/state"))
    noisy = NoisyOptions.make(quick=args.quick, seed=args.seed, log_dir=state / "chaos-logs")
    if args.big_rows is not None:
        noisy = dataclasses.replace(noisy, big_rows=args.big_rows)
    if args.noisy_seconds is not None:
        noisy = dataclasses.replace(noisy, noisy_s=args.noisy_seconds)
    return (
        args.scenario,
        Options(
            minutes=args.minutes or (2.0 if args.quick else 6.0),
            seed=args.seed,
            customers=args.customers or (600 if args.quick else 2000),
            tenants=args.tenants,
            kill_rounds=2 if args.quick else 3,
            settle_timeout_s=args.settle_timeout,
            log_dir=state / "chaos-logs",
        ),
        noisy,
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per emulator call is noise
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker probe while it restarts
    scenario, options, noisy = parse_args(argv)
    code = 0
    if scenario in ("all", "bounce"):
        report = asyncio.run(run(options))
        print(render(report), flush=True)
        code |= report.exit_code
    if scenario in ("all", "noisy"):
        admin_url = os.environ["MLC_DATABASE_ADMIN_URL"]
        bootstrap = os.environ["MLC_KAFKA_BOOTSTRAP"]
        noisy_report = asyncio.run(run_noisy(noisy, admin_url, bootstrap))
        print(noisy_verify.render(noisy_report), flush=True)
        code |= noisy_report.exit_code
    return code


if __name__ == "__main__":
    sys.exit(main())
