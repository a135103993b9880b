"""`mlc keys generate|rotate`: master keys for the envelope encryption of stored secrets.

Rotation: put a new key first in the master keys (the old ones after it); services reading
MLC_MASTER_KEYS_FILE pick it up within seconds (with MLC_MASTER_KEYS, restart them); run
`mlc keys rotate` once; `mlc keys retire <old kid>` then says whether any ciphertext still uses
the old key, and only when none does remove it. Rotate
re-encrypts every stored ciphertext under the first (newest) key; rows already under it are left
alone, so running it twice, or while services run, is safe.
"""

from __future__ import annotations

import argparse

from mlc_core.crypto import CryptoError, generate_key_text
from mlc_ops.keys import SEALED as SEALED  # kept for callers of this name
from mlc_ops.keys import key_in_use, rotate_all

from mlc_cli.common import add_json_flag, database, emit, table


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = verbs.add_parser("keys", help="master keys: generate, rotate, retire")
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
    retire = sub.add_parser(
        "retire", help="check that no stored secret uses a key, before removing it from the keys"
    )
    retire.add_argument("kid")
    retire.set_defaults(handler=retire_cmd)


async def retire_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        if args.kid == keyring.active_key_id:
            raise SystemExit(f"mlc: {args.kid} is the active (first) key: put a new key first")
        in_use = await key_in_use(pool=pool, key_id=args.kid)
    if in_use:
        where = ", ".join(f"{n} row(s) of {column}" for column, n in in_use.items())
        raise SystemExit(
            f"mlc: key {args.kid} is still used by {where}: run `mlc keys rotate` first;"
            " do not remove it yet"
        )
    print(f"no stored secret uses key {args.kid}: it can be removed from the master keys")


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
