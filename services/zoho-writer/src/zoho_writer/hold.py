"""The one owner of a tenant's hold in the writer: pause, park, reconnect and resume.

Upserts and deletes both hand every call's answer that holds a tenant (a 429, exhausted or
nearly exhausted credits, a refused token refresh, a revoked refresh token) to `TenantHolds`,
which pauses the tenant or puts it in the "reconnect Zoho" state, and parks the commands in
PostgreSQL, so Kafka offsets can be committed and nothing is lost or failed. So does every
other failure of the tenant's own (`on_fault`: Zoho down or too slow, a malformed answer, any
error in its share of a batch): the tenant is paused with the reason and its circuit opened.
How long a pause lasts is HoldPolicy's (pure); the stores only keep the state every replica
shares.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from mlc_core.logging import ctx
from mlc_core.tenants import Tenant

from zoho_writer.hold_policy import Held, HoldPolicy, HoldReason
from zoho_writer.parking import ParkingStore
from zoho_writer.run import TenantRun
from zoho_writer.service import Failure, WriteCommand, deferred, failed
from zoho_writer.tenant_state import TenantState

log = logging.getLogger(__name__)


def credentials_fingerprint(tenant: Tenant) -> bytes:
    """Changes when `mlc zoho connect` stores new credentials (a digest, never the secrets)."""
    zoho = tenant.config.zoho
    material = "\n".join(
        (
            zoho.client_id,
            zoho.accounts_url,
            tenant.secrets.zoho_client_secret.get_secret_value(),
            tenant.secrets.zoho_refresh_token.get_secret_value(),
        )
    )
    return hashlib.sha256(material.encode()).digest()


def reconnect_reason(tenant: Tenant, error: str) -> str:
    return (
        f"Zoho access for tenant {tenant.tenant_id} is gone ({error}): the refresh token was"
        f" revoked or replaced; run `mlc zoho connect {tenant.tenant_id}`. Its commands wait"
        " and are written once the new token is stored"
    )


class TenantHolds:
    """Decides and records, per tenant, whether its commands wait, and why."""

    def __init__(self, *, state: TenantState, parking: ParkingStore, policy: HoldPolicy) -> None:
        self._state = state
        self._parking = parking
        self.policy = policy

    async def check(self, run: TenantRun, tenant: Tenant) -> bool:
        """Before writing: True (and `run.hold` set) while the tenant waits for new Zoho
        credentials or for its pause to end."""
        refused = await self.refused(tenant)
        if refused is not None:
            run.hold.enter(HoldReason.RECONNECT, refused)
            return True
        # The consumer also waits while a fault's circuit is open; the drain is the probe.
        paused = await self._state.pause_reason(tenant.tenant_id, circuit=not run.from_parking)
        if paused is not None:
            run.hold.enter(HoldReason.of_pause(paused))
        return run.hold.held

    async def park_disabled(self, run: TenantRun, commands: Sequence[WriteCommand]) -> None:
        """`mlc tenant disable`: nothing is written, refreshed or drained for the tenant; its
        commands are kept (the drain skips disabled tenants) and written once it is enabled."""
        reason = f"tenant {run.tenant_id} is disabled; written after `mlc tenant enable`"
        await self.park(run, commands, reason=reason, delay=0)

    async def on_fault(
        self, run: TenantRun, reason: HoldReason, detail: str, commands: Sequence[WriteCommand]
    ) -> None:
        """A failure of the tenant's own: pause it with `reason` (growing backoff), open its
        circuit, and park `commands` (those parked too often fail: `fault_attempts`)."""
        run.hold.enter(reason, detail)
        paused = await self._state.pause(
            run.tenant_id,
            reason=reason.value,
            detail=detail,
            circuit=reason.opens_circuit,
            decide=lambda current, now: self.policy.paused_again(current, reason, now),
        )
        until = paused.until.isoformat() if paused.until else None
        log.error(
            "tenant paused: %s",
            reason.value,
            extra=ctx(tenant=run.tenant_id, reason=reason, detail=detail, until=until),
        )
        await self._park_or_fail(run, commands, reason=run.hold.park_reason, detail=detail)

    async def settle_faults(self, run: TenantRun) -> None:
        """Calls that failed retryably after their quick attempts: when nothing of the share
        went through it is the org's fault (on_fault), else only those records' (they are
        parked with their own backoff, the tenant flows on)."""
        faulty, run.faulty = run.faulty, []
        if not faulty:
            return
        commands = [c for chunk, _ in faulty for c in chunk]
        failure = faulty[0][1]
        detail = f"{failure.code}: {failure.message}"
        if not run.wrote:
            await self.on_fault(run, HoldReason.ZOHO_UNAVAILABLE, detail, commands)
            return
        for cmd in commands:
            tries = run.attempts.get(cmd.event_id, 0)
            reason = f"Zoho call failed ({detail}); tried again later"
            await self._park_or_fail(
                run, [cmd], reason=reason, detail=detail, delay=self.policy.retry_delay(tries)
            )

    async def _park_or_fail(
        self,
        run: TenantRun,
        commands: Sequence[WriteCommand],
        *,
        reason: str,
        detail: str,
        delay: float = 0,
    ) -> None:
        cap = self.policy.fault_attempts
        spent = [c for c in commands if run.attempts.get(c.event_id, 0) >= cap]
        failure = Failure(
            "RETRIES_EXHAUSTED",
            f"still failing after {cap} tries ({detail}); `mlc replay --failed-only` re-sends it",
            retryable=True,
        )
        for cmd in spent:
            run.outputs += failed(cmd, failure, run.origins.get(cmd.event_id))
        spent_ids = {c.event_id for c in spent}
        kept = [c for c in commands if c.event_id not in spent_ids]
        if kept:
            await self.park(run, kept, reason=reason, delay=delay)

    async def must_reconnect(self, tenant_id: str) -> bool:
        """The tenant is in the reconnect state (cheap: no credentials loaded)."""
        return await self._state.reconnect_state(tenant_id) is not None

    async def refused(self, tenant: Tenant) -> str | None:
        """The reconnect message while the tenant's credentials are still the refused ones;
        new credentials end the state (and writes resume)."""
        state = await self._state.reconnect_state(tenant.tenant_id)
        if state is None:
            return None
        fingerprint, message = state
        if fingerprint == credentials_fingerprint(tenant):
            return message
        if await self._state.reconnected(tenant.tenant_id):
            log.info(
                "new Zoho credentials stored; writes resume", extra=ctx(tenant=tenant.tenant_id)
            )
        return None

    async def on_held(
        self, run: TenantRun, tenant: Tenant, held: Held, commands: Sequence[WriteCommand]
    ) -> None:
        """A call's answer holds the tenant: remember what Zoho said, pause the tenant (once
        per pass) or enter the reconnect state, and park `commands`."""
        if held.credits_remaining is not None:
            await self._state.note_credits(run.tenant_id, held.credits_remaining)
        if held.reason is HoldReason.RECONNECT:
            await self._disconnect(run, tenant, held)
        elif not run.hold.held:
            await self._pause(run, held.reason)
        await self.park_held(run, commands)

    async def on_reply(self, run: TenantRun, credits_remaining: int | None) -> None:
        """A write went through; Zoho said how many credits are left: pause before none are."""
        if credits_remaining is None:
            return
        await self._state.note_credits(run.tenant_id, credits_remaining)
        if credits_remaining < self.policy.credit_reserve:
            await self._pause(run, HoldReason.CREDITS_LOW)

    async def park(
        self, run: TenantRun, commands: Sequence[WriteCommand], *, reason: str, delay: float
    ) -> None:
        """Keep `commands` to be written later (their first arrival also says so, deferred)."""
        kept = [run.originals.get(c.event_id, c) for c in commands]
        await self._parking.park(kept, run.origins, reason=reason, delay_seconds=delay)
        run.parked |= {c.event_id for c in kept}
        if not run.from_parking:
            run.outputs += [deferred(c, reason) for c in kept]

    async def park_held(self, run: TenantRun, commands: Sequence[WriteCommand]) -> None:
        """Park `commands` because the tenant is held (due as soon as the hold ends)."""
        await self.park(run, commands, reason=run.hold.park_reason, delay=0)

    async def resume(self, tenant_id: str) -> None:
        """Parked commands went through: the next pause starts from the base wait again, and
        a circuit opened by a fault closes (the consumer writes the tenant again)."""
        if await self._state.resume(tenant_id):
            log.info("tenant's writes go through again", extra=ctx(tenant=tenant_id))

    async def _pause(self, run: TenantRun, reason: HoldReason) -> None:
        run.hold.enter(reason)
        paused = await self._state.pause(
            run.tenant_id,
            reason=reason.value,
            decide=lambda current, now: self.policy.paused_again(current, reason, now),
        )
        until = paused.until.isoformat() if paused.until else None
        log.warning("tenant paused", extra=ctx(tenant=run.tenant_id, reason=reason, until=until))

    async def _disconnect(self, run: TenantRun, tenant: Tenant, held: Held) -> None:
        """The refresh token is refused: hold the tenant until new credentials are stored. One
        replica logs the error once; the others (and later batches) just park."""
        message = reconnect_reason(tenant, held.error.code or type(held.error).__name__)
        run.hold.enter(HoldReason.RECONNECT, message)
        entered = await self._state.must_reconnect(
            tenant.tenant_id, fingerprint=credentials_fingerprint(tenant), error=message
        )
        if entered:
            log.error(message, extra=ctx(tenant=tenant.tenant_id, code=held.error.code))
