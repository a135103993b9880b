"""Master-key rotation: re-encrypt every stored ciphertext under the keyring's first (newest)
key. Rows already under it are left alone, so running it twice, or while services run, is
safe. Each column's associated data comes from its owner: the tenants table's from here (it is
mlc_core.tenants' format), the writer's token column from zoho_writer.admin."""

from __future__ import annotations

from collections import Counter

import asyncpg
from mlc_core.crypto import KeyRing
from zoho_writer.admin import TOKEN_COLUMN, SealedColumn

__all__ = ["SEALED", "SealedColumn", "rotate_all"]


def _secrets_context(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:secrets"  # as mlc_core.tenants seals a tenant's secrets


# Every encrypted column in the schema.
SEALED = (SealedColumn("tenants", "tenant_id", "secrets", _secrets_context), TOKEN_COLUMN)


async def rotate_all(*, pool: asyncpg.Pool, keyring: KeyRing) -> dict[str, Counter[str]]:
    """Per column, how many rows were rotated or already current. Raises CryptoError (nothing
    in that column changed) when a row is under a key the keyring lacks."""
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
            aad = sealed.context(row["k"])
            fresh = keyring.encrypt(keyring.decrypt(row["v"], aad=aad), aad=aad)
            await conn.execute(
                f"UPDATE {sealed.table} SET {sealed.column} = $2"  # noqa: S608 - constants
                f" WHERE {sealed.key_column} = $1",
                row["k"],
                fresh,
            )
            counts["rotated"] += 1
    return counts
