"""Per-tenant writer state in PostgreSQL, shared by every replica: pauses, credits, edition,
modules the org lacks, and the "reconnect Zoho" state of a tenant whose access is gone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from zoho_writer.hold_policy import PauseState


class TenantState:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def pause_reason(self, tenant_id: str, *, circuit: bool = False) -> str | None:
        """Why the tenant is paused, while it is (None when it is not); with `circuit`, also
        while its circuit is open after the pause (the consumer's view: only the drain
        probes a tenant whose fault may not be over)."""
        reason: str | None = await self._pool.fetchval(
            "SELECT COALESCE(pause_reason, '') FROM writer_tenant_state"
            " WHERE tenant_id = $1 AND (paused_until > now() OR ($2 AND circuit_open))",
            tenant_id,
            circuit,
        )
        return reason

    async def pause(
        self,
        tenant_id: str,
        *,
        reason: str,
        decide: Callable[[PauseState, datetime], PauseState],
        detail: str | None = None,
        circuit: bool = False,
    ) -> PauseState:
        """Store the pause `decide` computes from the stored one (HoldPolicy.paused_again);
        the row is locked meanwhile, so replicas pausing together compute one after another."""
        async with self._pool.acquire() as conn, conn.transaction():
            # The no-op update creates the row if need be and locks it until the commit.
            row = await conn.fetchrow(
                "INSERT INTO writer_tenant_state AS s (tenant_id) VALUES ($1)"
                " ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = s.tenant_id"
                " RETURNING paused_until, consecutive_pauses, clock_timestamp() AS now",
                tenant_id,
            )
            if row is None:  # RETURNING after an upsert always yields the row
                raise LookupError(f"no writer_tenant_state row for tenant {tenant_id}")
            after = decide(PauseState(row["paused_until"], row["consecutive_pauses"]), row["now"])
            await conn.execute(
                "UPDATE writer_tenant_state SET paused_until = $2, consecutive_pauses = $3,"
                " pause_reason = $4, pause_detail = $5, circuit_open = circuit_open OR $6,"
                " updated_at = now() WHERE tenant_id = $1",
                tenant_id,
                after.until,
                after.episodes,
                reason,
                detail,
                circuit,
            )
        return after

    async def resume(self, tenant_id: str) -> bool:
        """Writes went through again: the next pause starts from the base wait (its episode
        count back to 0) and the circuit closes, unless a pause is still on; True when a
        circuit was open."""
        closed: bool | None = await self._pool.fetchval(
            "UPDATE writer_tenant_state AS s SET consecutive_pauses = 0, circuit_open = false,"
            " pause_detail = NULL, updated_at = now()"
            " FROM writer_tenant_state AS before WHERE s.tenant_id = $1"
            " AND before.tenant_id = s.tenant_id"
            " AND (s.paused_until IS NULL OR s.paused_until <= now())"
            " RETURNING before.circuit_open",
            tenant_id,
        )
        return bool(closed)

    async def reconnect_state(self, tenant_id: str) -> tuple[bytes, str] | None:
        """(fingerprint of the refused credentials, error) while the tenant must reconnect."""
        row = await self._pool.fetchrow(
            "SELECT reconnect_fingerprint, reconnect_error FROM writer_tenant_state"
            " WHERE tenant_id = $1 AND reconnect_since IS NOT NULL",
            tenant_id,
        )
        return None if row is None else (row["reconnect_fingerprint"], row["reconnect_error"])

    async def must_reconnect(self, tenant_id: str, *, fingerprint: bytes, error: str) -> bool:
        """Enter the reconnect state; True only for the replica that entered it (one error)."""
        entered: bool | None = await self._pool.fetchval(
            "INSERT INTO writer_tenant_state AS s"
            " (tenant_id, reconnect_since, reconnect_error, reconnect_fingerprint)"
            " VALUES ($1, now(), $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET"
            " reconnect_since = now(), reconnect_error = $2, reconnect_fingerprint = $3,"
            " updated_at = now()"
            " WHERE s.reconnect_since IS NULL OR s.reconnect_fingerprint IS DISTINCT FROM $3"
            " RETURNING true",
            tenant_id,
            error,
            fingerprint,
        )
        return bool(entered)

    async def reconnected(self, tenant_id: str) -> bool:
        """Leave the reconnect state (a new refresh token is stored); True if it was set."""
        left: bool | None = await self._pool.fetchval(
            "UPDATE writer_tenant_state SET reconnect_since = NULL, reconnect_error = NULL,"
            " reconnect_fingerprint = NULL, updated_at = now()"
            " WHERE tenant_id = $1 AND reconnect_since IS NOT NULL RETURNING true",
            tenant_id,
        )
        return bool(left)

    async def note_credits(self, tenant_id: str, remaining: int) -> None:
        await self._pool.execute(
            "INSERT INTO writer_tenant_state (tenant_id, credits_remaining, credits_seen_at)"
            " VALUES ($1, $2, now()) ON CONFLICT (tenant_id) DO UPDATE SET"
            " credits_remaining = $2, credits_seen_at = now(), updated_at = now()",
            tenant_id,
            remaining,
        )

    async def edition(self, tenant_id: str, *, max_age: timedelta) -> str | None:
        edition: str | None = await self._pool.fetchval(
            "SELECT edition FROM writer_tenant_state"
            " WHERE tenant_id = $1 AND edition_seen_at > now() - $2::interval",
            tenant_id,
            max_age,
        )
        return edition

    async def set_edition(self, tenant_id: str, edition: str) -> None:
        await self._pool.execute(
            "INSERT INTO writer_tenant_state (tenant_id, edition, edition_seen_at)"
            " VALUES ($1, $2, now()) ON CONFLICT (tenant_id) DO UPDATE SET"
            " edition = $2, edition_seen_at = now(), updated_at = now()",
            tenant_id,
            edition,
        )

    async def blocked_modules(self, tenant_id: str) -> set[str]:
        rows = await self._pool.fetch(
            "SELECT module FROM writer_module_blocks"
            " WHERE tenant_id = $1 AND recheck_after > now()",
            tenant_id,
        )
        return {r["module"] for r in rows}

    async def block_module(
        self, tenant_id: str, module: str, *, code: str, message: str, recheck: timedelta
    ) -> bool:
        """Note that the org lacks `module`; True the first time (or after a recheck)."""
        first: bool | None = await self._pool.fetchval(
            "INSERT INTO writer_module_blocks AS b"
            " (tenant_id, module, code, message, recheck_after)"
            " VALUES ($1, $2, $3, $4, now() + $5::interval)"
            " ON CONFLICT (tenant_id, module) DO UPDATE SET"
            " code = $3, message = $4, blocked_at = now(), recheck_after = now() + $5::interval"
            " WHERE b.recheck_after <= now()"
            " RETURNING true",
            tenant_id,
            module,
            code,
            message,
            recheck,
        )
        return bool(first)
