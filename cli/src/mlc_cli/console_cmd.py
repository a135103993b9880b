"""`mlc console hash-password`: the admin password's hash for MLC_CONSOLE_ADMIN_PASSWORD_HASH.

The password comes from MLC_CONSOLE_ADMIN_PASSWORD or a no-echo prompt, never an argument;
only the hash is printed, to go into the console's environment (or its Kubernetes Secret)."""

from __future__ import annotations

import argparse

from mlc_ops.passwords import hash_password

from mlc_cli.common import secret

MIN_LENGTH = 12


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = verbs.add_parser("console", help="the operator console").add_subparsers(
        dest="action", required=True
    )
    hashed = sub.add_parser(
        "hash-password",
        help="print the hash of the admin password for MLC_CONSOLE_ADMIN_PASSWORD_HASH",
    )
    hashed.set_defaults(handler=hash_cmd)


async def hash_cmd(args: argparse.Namespace) -> None:
    password = secret("console_admin_password").get_secret_value()
    if len(password) < MIN_LENGTH:
        raise SystemExit(f"mlc: the console's admin password needs {MIN_LENGTH} characters or more")
    print(hash_password(password))
