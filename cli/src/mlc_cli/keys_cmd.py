"""`mlc keys generate|rotate`: master keys for the envelope encryption of stored secrets.

Rotation: put a new key first in MLC_MASTER_KEYS (the old ones after it), run `mlc keys rotate`
once, restart the services with the same keys, and after that remove the old key. Rotate
re-encrypts every stored ciphertext under the first (newest) key; rows already under it are left
alone, so running it twice, or while services run, is safe.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass

import asyncpg
from mlc_core.crypto import CryptoError, KeyRing, generate_key_text

from mlc_cli.common import add_json_flag, database, emit, table


@dataclass(frozen=True)
class SealedColumn:
    """A column of ciphertexts, and how its associated data is built from the row key."""

    table: str
    key_column: str
    column: str
    aad: str  # format string with {key}


# Every encrypted column in the schema; the associated data must match the writers' exactly.
SEALED = (
    SealedColumn("tenants", "tenant_id", "secrets", "tenant:{key}:secrets"),
    SealedColumn("zoho_tokens", "tenant_id", "access_token", "tenant:{key}:zoho-access-token"),
)


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


async def rotate_all(pool: asyncpg.Pool, keyring: KeyRing) -> dict[str, Counter[str]]:
    """Re-encrypt each sealed column; returns per table how many rows were rotated or kept."""
    return {f"{s.table}.{s.column}": await _rotate_column(pool, keyring, s) for s in SEALED}


async def _rotate_column(
    pool: asyncpg.Pool, keyring: KeyRing, sealed: SealedColumn
) -> Counter[str]:
    counts: Counter[str] = Counter()
    async with pool.acquire() as conn, conn.transaction():
        # FOR UPDATE: a token refresh racing the rotation waits, and is not overwritten by it.
        rows = await conn.fetch(
            f"SELECT {sealed.key_column} AS k, {sealed.column} AS v"  # noqa: S608 - constants
            f" FROM {sealed.table} FOR UPDATE"
        )
        for row in rows:
            if KeyRing.key_id_of(row["v"]) == keyring.active_key_id:
                counts["already current"] += 1
                continue
            aad = sealed.aad.format(key=row["k"])
            fresh = keyring.encrypt(keyring.decrypt(row["v"], aad=aad), aad=aad)
            await conn.execute(
                f"UPDATE {sealed.table} SET {sealed.column} = $2"  # noqa: S608 - constants
                f" WHERE {sealed.key_column} = $1",
                row["k"],
                fresh,
            )
            counts["rotated"] += 1
    return counts


async def rotate_cmd(args: argparse.Namespace) -> None:
    async with database() as (pool, keyring):
        try:
            counts = await rotate_all(pool, keyring)
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
