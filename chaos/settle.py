"""After the chaos window: wait until Zoho matches Sage and the audit log holds every message.

A write that failed for good during the window (Zoho's 5xx outlasting the writer's quick
retries) becomes a failed outcome and a dead letter, by design; the operator's recovery is
`mlc replay --failed-only`, so the settle phase runs it when the pipeline stops making progress,
exactly as the README tells an operator to. Each replay is counted in the report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import httpx
from mlc_core.db import create_pool
from mlc_devtools.devstack import DevStack, script

from chaos import observe
from chaos.verify import (
    AuditCheck,
    FailureCheck,
    RecordCheck,
    RecordKey,
    check_audit,
    check_failures,
    check_records,
)
from chaos.workload import TenantLoad, sage_truth, zoho_holdings

log = logging.getLogger("chaos")
POLL_S = 5.0
STALL_S = 45.0  # no progress this long: replay what is failing
STUCK_S = 120.0  # no progress this long and nothing failing: stuck records, stop waiting
MAX_REPLAYS = 4


class Settler:
    def __init__(
        self,
        *,
        stack: DevStack,
        sage: httpx.AsyncClient,
        zoho: httpx.AsyncClient,
        loads: Sequence[TenantLoad],
        bootstrap: str,
        since: observe.Offsets,
    ) -> None:
        self.stack, self._sage, self._zoho, self.loads = stack, sage, zoho, loads
        self._bootstrap, self._since = bootstrap, since
        self.replays = 0
        self.records = RecordCheck()
        self.failures = FailureCheck()
        self.audit = AuditCheck()

    async def settle(self, timeout_s: float) -> float | None:
        """Seconds until everything agreed, or None at the timeout (the checks still run)."""
        started = time.monotonic()
        deadline = started + timeout_s
        if not await self._records_settle(deadline):
            await self._audit_check()
            return None
        settled = await self._audit_settle(deadline)
        return time.monotonic() - started if settled else None

    async def _records_settle(self, deadline: float) -> bool:
        best, progressed = -1, time.monotonic()
        while True:
            await self._record_checks()
            unpaired = bool(self.failures.unpaired)
            if self.records.converged and not unpaired:
                return True
            now = time.monotonic()
            if self.records.correct > best:
                best, progressed = self.records.correct, now
            waiting = unpaired or await self._parked() > 0
            if now > deadline or (now - progressed > STUCK_S and not waiting):
                return False  # stuck: nothing parked, nothing a replay of failures could fix
            stalled = now - progressed > STALL_S or self.records.converged
            if unpaired and stalled and self.replays < MAX_REPLAYS:
                await self._replay_failed()
                progressed = time.monotonic()
            await asyncio.sleep(POLL_S)

    async def _record_checks(self) -> None:
        expected: dict[RecordKey, str] = {}
        found: list[tuple[RecordKey, str]] = []
        for load in self.loads:
            expected |= await sage_truth(self._sage, load)
            found += await zoho_holdings(self._zoho, load.tenant)
        self.records = check_records(expected, found)
        pool = await create_pool(self.stack.config.database_url)
        try:
            outcomes = await observe.outcomes(pool, [load.tenant for load in self.loads])
        finally:
            await pool.close()
        self.failures = check_failures(outcomes)
        log.info(
            "settling: %d/%d correct, %d lost, %d stale, %d duplicated, %d unpaired failures",
            self.records.correct,
            self.records.expected,
            len(self.records.lost),
            len(self.records.stale),
            len(self.records.duplicated),
            len(self.failures.unpaired),
        )

    async def _parked(self) -> int:
        """Commands the writer holds (a child waiting for its parent retries with backoff)."""
        pool = await create_pool(self.stack.config.database_url)
        try:
            count: int = await pool.fetchval(
                "SELECT count(*) FROM writer_parked WHERE tenant_id = ANY($1)",
                [load.tenant for load in self.loads],
            )
        finally:
            await pool.close()
        return count

    async def _audit_settle(self, deadline: float) -> bool:
        while True:
            await self._audit_check()
            if not self.audit.gaps:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(POLL_S)

    async def _audit_check(self) -> None:
        messages = await observe.scan(self._bootstrap, self._since)
        pool = await create_pool(self.stack.config.database_url)
        try:
            offsets, ids = await observe.audit_stored(pool)
        finally:
            await pool.close()
        self.audit = check_audit(messages, offsets, ids)
        log.info("audit: %d messages, %d gaps", self.audit.messages, len(self.audit.gaps))

    async def _replay_failed(self) -> None:
        self.replays += 1
        log_path = self.stack.config.log_dir / "replays.log"
        for load in self.loads:
            with log_path.open("ab") as out:
                proc = await asyncio.create_subprocess_exec(
                    script("mlc"),
                    "replay",
                    "--tenant",
                    load.tenant,
                    "--failed-only",
                    stdout=out,
                    stderr=out,
                    env=self.stack.config.env(),
                )
                code = await proc.wait()
            log.info("mlc replay --tenant %s --failed-only: exit %d", load.tenant, code)
