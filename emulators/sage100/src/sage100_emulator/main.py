"""Console entry point: `mlc-sage-emulator`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import uvicorn

from sage100_emulator.app import DEFAULT_AGENT_TOKEN, create_app
from sage100_emulator.clock import EmulatorClock
from sage100_emulator.state import SageState

DEFAULT_PORT = 18100


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="mlc-sage-emulator", description=__doc__)
    parser.add_argument("--host", default=env("MLC_SAGE_EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=_env_int("MLC_SAGE_EMULATOR_PORT", DEFAULT_PORT)
    )
    parser.add_argument(
        "--tz",
        default=env("MLC_SAGE_EMULATOR_TZ", "UTC"),
        help="IANA zone of the emulated server's wall clock (default UTC)",
    )
    parser.add_argument("--agent-token", default=env("MLC_SAGE_AGENT_TOKEN", DEFAULT_AGENT_TOKEN))
    parser.add_argument(
        "--company",
        default=env("MLC_SAGE_EMULATOR_COMPANY", "ABC"),
        help="company created at start",
    )
    parser.add_argument(
        "--seed-count",
        type=int,
        default=_env_int("MLC_SAGE_EMULATOR_SEED_COUNT", 0),
        help="generate this many AR customers in --company at start",
    )
    parser.add_argument(
        "--seed", type=int, default=_env_int("MLC_SAGE_EMULATOR_SEED", 42), help="random seed"
    )
    parser.add_argument("--log-level", default=env("MLC_SAGE_EMULATOR_LOG_LEVEL", "info"))
    return parser.parse_args(argv)


def build_state(args: argparse.Namespace) -> SageState:
    state = SageState(EmulatorClock(args.tz))
    state.ensure_company(args.company)
    if args.seed_count > 0:
        state.seed_customers(args.company, args.seed_count, args.seed)
    return state


def run(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    app = create_app(build_state(args), agent_token=args.agent_token)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
