"""`mlc-dev`: the developer's command line (the demo); `mlc` is the operator's."""

from __future__ import annotations

import argparse
import asyncio
import sys

from mlc_devtools import console_shots, demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlc-dev", description="ml-connector development tools (emulators, local stack)"
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    demo.register(verbs)
    console_shots.register(verbs)
    return parser


def run(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(args.handler(args))
    except KeyboardInterrupt:
        sys.exit(130)
