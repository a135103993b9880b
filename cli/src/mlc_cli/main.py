"""`mlc`: the operator's command line.

Each verb lives in its own module exposing `register(verbs)`, which adds its sub-parser and sets
`handler` (an async function taking the parsed args) as a default. Adding a verb is one import
and one entry in VERBS.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from types import ModuleType

from mlc_cli import (
    audit_cmd,
    console_cmd,
    db_cmd,
    kafka_cmd,
    keys_cmd,
    mapping_cmd,
    ping,
    reconcile_cmd,
    replay_cmd,
    sage_cmd,
    status,
    sync_cmd,
    tenant,
    zoho_cmd,
)
from mlc_cli.common import exit_on_refusal

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
VERBS: list[ModuleType] = [
    db_cmd,
    kafka_cmd,
    keys_cmd,
    tenant,
    sage_cmd,
    zoho_cmd,
    ping,
    status,
    audit_cmd,
    replay_cmd,
    reconcile_cmd,
    mapping_cmd,
    sync_cmd,
    console_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlc", description="ml-connector: Sage 100 -> Zoho CRM")
    verbs = parser.add_subparsers(dest="verb", required=True)
    for module in VERBS:
        module.register(verbs)
    return parser


def run(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        with exit_on_refusal():
            asyncio.run(args.handler(args))
    except KeyboardInterrupt:
        sys.exit(130)
