"""Holding a tenant's commands instead of failing them: pauses (429, credits, token throttle)
and the "reconnect Zoho" state (its refresh token is refused). Upserts and deletes alike are
parked in PostgreSQL, so Kafka offsets can be committed and nothing is lost or failed."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from mlc_core.contracts import ZohoWriteOutcome
from mlc_core.logging import ctx
from mlc_core.tenants import Tenant
from mlc_core.zoho.errors import ZohoAuthError

from zoho_writer.deps import WriterDeps
from zoho_writer.service import Origin, Output, WriteCommand, deferred

log = logging.getLogger(__name__)
PAUSED = "tenant paused (Zoho limits)"


@dataclass
class TenantRun:
    """What one tenant's share of a batch (or of a drain pass) produced."""

    tenant_id: str
    origins: dict[uuid.UUID, Origin]
    attempts: dict[uuid.UUID, int]
    from_parking: bool
    outputs: list[Output] = field(default_factory=list)
    parked: set[uuid.UUID] = field(default_factory=set)
    paused: bool = False
    hashes: dict[uuid.UUID, bytes] = field(default_factory=dict)
    known: dict[tuple[str, str], str] = field(default_factory=dict)
    # Commands as they arrived (before parents were filled in): what gets parked.
    originals: dict[uuid.UUID, WriteCommand] = field(default_factory=dict)
    # Set when the tenant is in the reconnect state: the reason its commands are parked.
    reconnect: str | None = None

    @property
    def finished(self) -> list[uuid.UUID]:
        """Commands with a final outcome (parked ones are not)."""
        done = {o.causation_id for _, o in self.outputs if isinstance(o, ZohoWriteOutcome)}
        return [e for e in done if e is not None and e not in self.parked]

    @property
    def hold_reason(self) -> str:
        return self.reconnect or PAUSED


async def park(
    run: TenantRun,
    commands: Sequence[WriteCommand],
    deps: WriterDeps,
    *,
    reason: str,
    delay: float,
) -> None:
    commands = [run.originals.get(c.event_id, c) for c in commands]
    await deps.parking.park(commands, run.origins, reason=reason, delay_seconds=delay)
    run.parked |= {c.event_id for c in commands}
    if not run.from_parking:
        run.outputs += [deferred(c, reason) for c in commands]


async def pause(run: TenantRun, deps: WriterDeps, reason: str, base: float) -> None:
    run.paused = True
    until = await deps.state.pause(
        run.tenant_id, base=base, cap=deps.policy.pause_cap_seconds, reason=reason
    )
    log.warning(
        "tenant paused", extra=ctx(tenant=run.tenant_id, reason=reason, until=until.isoformat())
    )


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


async def disconnect(run: TenantRun, tenant: Tenant, exc: ZohoAuthError, deps: WriterDeps) -> None:
    """The refresh token is refused: hold the tenant until new credentials are stored. One
    replica logs the error once; the others (and later batches) just park."""
    run.paused = True
    run.reconnect = reconnect_reason(tenant, exc.code or type(exc).__name__)
    entered = await deps.state.must_reconnect(
        tenant.tenant_id, fingerprint=credentials_fingerprint(tenant), error=run.reconnect
    )
    if entered:
        log.error(run.reconnect, extra=ctx(tenant=tenant.tenant_id, code=exc.code))


async def awaiting_reconnect(run: TenantRun, tenant: Tenant, deps: WriterDeps) -> bool:
    """True while the tenant must reconnect and its credentials are still the refused ones;
    new credentials end the state (and the writer resumes)."""
    state = await deps.state.reconnect_state(tenant.tenant_id)
    if state is None:
        return False
    if state[0] != credentials_fingerprint(tenant):
        if await deps.state.reconnected(tenant.tenant_id):
            log.info("new Zoho credentials stored; writes resume", extra=ctx(tenant=run.tenant_id))
        return False
    run.paused = True
    run.reconnect = state[1]
    return True
