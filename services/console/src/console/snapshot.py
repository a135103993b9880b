"""Every tenant's health, computed in the background once per refresh interval and shared by
every page and every operator: the aggregate over a day of audit events costs the same for one
viewer as for twenty, and no page waits for it (pages show when it was taken)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from mlc_core.crypto import KeyRing
from mlc_ops.console_views import TenantHealth, tenant_health

log = logging.getLogger("console.snapshot")


@dataclass
class HealthSnapshot:
    pool: asyncpg.Pool
    keyring: KeyRing
    every_seconds: float
    tenants: list[TenantHealth] = field(default_factory=list)
    taken_at: datetime | None = None
    took_ms: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def latest(self) -> list[TenantHealth]:
        if self.taken_at is None:  # before the first background run: compute it now
            await self.refresh()
        return self.tenants

    async def one(self, tenant_id: str) -> TenantHealth | None:
        return next((t for t in await self.latest() if t.tenant_id == tenant_id), None)

    async def refresh(self) -> None:
        async with self._lock:
            started = time.perf_counter()
            self.tenants = await tenant_health(pool=self.pool, keyring=self.keyring)
            self.taken_at = datetime.now(UTC)
            self.took_ms = (time.perf_counter() - started) * 1000

    async def run(self) -> None:
        """Refresh forever; a failed refresh keeps the last snapshot and is logged."""
        while True:
            try:
                await self.refresh()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("tenant health refresh failed", extra={"error": repr(exc)})
            await asyncio.sleep(self.every_seconds)
