"""`mlc keys generate|rotate`: master keys for the envelope encryption of stored secrets.

Rotation: put a new key first in MLC_MASTER_KEYS (the old ones after it), run `mlc keys rotate`
once, restart the services with the same keys, and after that remove the old key. Rotate
re-encrypts every stored ciphertext under the first (newest) key; rows already under it are left
alone, so running it twice, or while services run, is safe.
"""

from __future__ import annotations

import argparse

from mlc_core.crypto import CryptoError, generate_key_text
from mlc_ops.keys import SEALED as SEALED  # kept for callers of this name
from mlc_ops.keys import rotate_all

from mlc_cli.common import add_json_flag, database, emit, table


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = verbs.add_parser("keys", help="master keys: generate, rotate")
    sub = keys.add_subparsers(dest="action", required=True)
    gen = sub.add_parser("generate", help="print a new key entry for MLC_MASTER_KEYS")
    gen.add_argument("--kid", default="k1", help="key id stored with every ciphertext")
    gen.set_defaults(handler=generate)
    rotate = sub.add_parser(
        "rotate",
        help="re-encrypt every stored secret under the newest (first) key",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_json_flag(rotate)
    rotate.set_defaults(handler=rotate_cmd)


async def generate(args: argparse.Namespace) -> None:
    print(generate_key_text(args.kid))


async def rotate_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        try:
            counts = await rotate_all(pool=pool, keyring=keyring)
        except CryptoError as exc:
            raise SystemExit(
                f"mlc: nothing rotated in that table: {exc}; list the new key first and every"
                " older key after it in MLC_MASTER_KEYS"
            ) from exc
    result = {
        "key_id": keyring.active_key_id,
        "columns": {name: dict(c) for name, c in counts.items()},
    }
    emit(args, result, _rotate_text)


def _rotate_text(result: dict[str, object]) -> str:
    columns = result["columns"]
    assert isinstance(columns, dict)
    rows = [
        [name, str(c.get("rotated", 0)), str(c.get("already current", 0))]
        for name, c in columns.items()
    ]
    header = f"every secret is now encrypted under key {result['key_id']}\n"
    return header + table(rows, ["COLUMN", "ROTATED", "ALREADY CURRENT"])
