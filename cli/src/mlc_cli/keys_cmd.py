"""`mlc keys …`: master keys for the envelope encryption of stored secrets."""

from __future__ import annotations

import argparse

from mlc_core.crypto import generate_key_text


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = verbs.add_parser("keys", help="master keys").add_subparsers(dest="action", required=True)
    gen = keys.add_parser("generate", help="print a new key entry for MLC_MASTER_KEYS")
    gen.add_argument("--kid", default="k1")
    gen.set_defaults(handler=generate)


async def generate(args: argparse.Namespace) -> None:
    print(generate_key_text(args.kid))
