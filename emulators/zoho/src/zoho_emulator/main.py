"""Console entry point: `mlc-zoho-emulator`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import uvicorn

from zoho_emulator.app import create_app
from zoho_emulator.state import ZohoState

DEFAULT_PORT = 18200


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _pair(text: str, what: str, last: bool = False) -> tuple[str, str]:
    left, sep, right = text.rpartition(":") if last else text.partition(":")
    if not sep or not left or not right:
        raise SystemExit(f"expected {what}, got {text!r}")
    return left, right


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="mlc-zoho-emulator", description=__doc__)
    parser.add_argument("--host", default=env("MLC_ZOHO_EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=_env_int("MLC_ZOHO_EMULATOR_PORT", DEFAULT_PORT)
    )
    parser.add_argument(
        "--token-ttl",
        type=int,
        default=_env_int("MLC_ZOHO_EMULATOR_TOKEN_TTL", 3600),
        help="access token lifetime in seconds",
    )
    parser.add_argument(
        "--seed-client",
        action="append",
        default=_env_list("MLC_ZOHO_EMULATOR_SEED_CLIENTS"),
        metavar="ID:SECRET",
        help="OAuth client to create at start (repeatable; env: comma-separated)",
    )
    parser.add_argument(
        "--seed-org",
        action="append",
        default=_env_list("MLC_ZOHO_EMULATOR_SEED_ORGS"),
        metavar="ORG_ID:DC",
        help="org to create at start (repeatable; env: comma-separated)",
    )
    parser.add_argument("--log-level", default=env("MLC_ZOHO_EMULATOR_LOG_LEVEL", "info"))
    return parser.parse_args(argv)


def build_state(args: argparse.Namespace) -> ZohoState:
    state = ZohoState(token_ttl=args.token_ttl)
    for spec in args.seed_client:
        client_id, secret = _pair(spec, "ID:SECRET")
        state.add_client(client_id, secret)
    for spec in args.seed_org:
        org_id, dc = _pair(spec, "ORG_ID:DC", last=True)
        state.add_org(org_id, dc)
    return state


def run(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    uvicorn.run(
        create_app(build_state(args)), host=args.host, port=args.port, log_level=args.log_level
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
