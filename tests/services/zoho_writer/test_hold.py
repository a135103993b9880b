"""TenantHolds, the one owner of a tenant's hold (unit: in-memory stand-ins for the two stores;
the same component on real PostgreSQL is shown by test_writer_hold.py and test_writer_live.py).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mlc_core.contracts import OutcomeStatus, ZohoWriteOutcome
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig
from mlc_core.zoho.errors import ZohoAuthError, ZohoRateLimited
from pydantic import SecretStr
from zoho_writer.hold import TenantHolds, credentials_fingerprint
from zoho_writer.hold_policy import Held, HoldPolicy, HoldReason, PauseState
from zoho_writer.run import PAUSED, TenantRun
from zoho_writer.service import Failure

from tests.factories import command

POLICY = HoldPolicy(pause_seconds=30.0, pause_cap_seconds=900.0, credit_pause_seconds=900.0)
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class State:
    """writer_tenant_state for one tenant, in memory."""

    def __init__(self) -> None:
        self.pause_state = PauseState()
        self.stored_reason: str | None = None
        self.pauses = 0
        self.credits: int | None = None
        self.reconnect: tuple[bytes, str] | None = None
        self.detail: str | None = None
        self.circuit = False

    async def pause_reason(self, tenant_id: str, *, circuit: bool = False) -> str | None:
        until = self.pause_state.until
        paused = until is not None and until > NOW
        return (self.stored_reason or "") if paused or (circuit and self.circuit) else None

    async def pause(
        self,
        tenant_id: str,
        *,
        reason: str,
        decide: Any,
        detail: str | None = None,
        circuit: bool = False,
    ) -> PauseState:
        self.pauses += 1
        self.pause_state, self.stored_reason = decide(self.pause_state, NOW), reason
        self.detail, self.circuit = detail, self.circuit or circuit
        return self.pause_state

    async def resume(self, tenant_id: str) -> bool:
        self.pause_state = PauseState(self.pause_state.until, 0)
        was, self.circuit = self.circuit, False
        return was

    async def note_credits(self, tenant_id: str, remaining: int) -> None:
        self.credits = remaining

    async def reconnect_state(self, tenant_id: str) -> tuple[bytes, str] | None:
        return self.reconnect

    async def must_reconnect(self, tenant_id: str, *, fingerprint: bytes, error: str) -> bool:
        entered = self.reconnect is None or self.reconnect[0] != fingerprint
        self.reconnect = (fingerprint, error)
        return entered

    async def reconnected(self, tenant_id: str) -> bool:
        was, self.reconnect = self.reconnect is not None, None
        return was


class Parking:
    def __init__(self) -> None:
        self.parked: dict[uuid.UUID, str] = {}

    async def park(self, commands: Any, origins: Any, *, reason: str, delay_seconds: float) -> None:
        self.parked |= {c.event_id: reason for c in commands}


def tenant(refresh_token: str = "1000.refresh") -> Tenant:
    return Tenant(
        tenant_id="acme",
        display_name="Acme",
        config=TenantConfig(
            sage=SageConfig(company_code="ABC"),
            zoho=ZohoConfig(accounts_url="https://accounts.zoho.com", client_id="1000.client"),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr("agent"),
            zoho_client_secret=SecretStr("client-secret"),
            zoho_refresh_token=SecretStr(refresh_token),
        ),
    )


def limited(credits: int | None = None) -> Held:
    exc = ZohoRateLimited("429", code="TOO_MANY_REQUESTS", status=429)
    exc.credits_remaining = credits
    return Held(HoldReason.CREDITS_EXHAUSTED if credits == 0 else HoldReason.RATE_LIMITED, exc)


def revoked() -> Held:
    return Held(HoldReason.RECONNECT, ZohoAuthError("refused", code="invalid_code"))


@pytest.fixture
def stores() -> tuple[State, Parking, TenantHolds]:
    state, parking = State(), Parking()
    holds = TenantHolds(state=state, parking=parking, policy=POLICY)  # type: ignore[arg-type]
    return state, parking, holds


def deferred_reasons(run: TenantRun) -> list[str]:
    return [
        str(o.error_message)
        for _, o in run.outputs
        if isinstance(o, ZohoWriteOutcome) and o.status is OutcomeStatus.DEFERRED
    ]


async def test_a_429_pauses_the_tenant_once_per_pass_and_parks_every_chunk(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    state, parking, holds = stores
    run = TenantRun("acme", {}, {}, from_parking=False)
    first, second = [command("01-A")], [command("01-B")]
    await holds.on_held(run, tenant(), limited(), first)
    await holds.on_held(run, tenant(), limited(), second)  # a sibling chunk, same 429 storm

    assert state.pauses == 1
    assert state.stored_reason == "Zoho answered 429"
    assert state.pause_state.until == NOW + timedelta(seconds=30)
    assert set(parking.parked.values()) == {PAUSED}
    assert len(parking.parked) == 2
    assert run.hold.reason is HoldReason.RATE_LIMITED
    assert all(PAUSED in reason for reason in deferred_reasons(run))


async def test_exhausted_credits_pause_for_the_credit_wait_and_are_noted(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    state, _, holds = stores
    run = TenantRun("acme", {}, {}, from_parking=True)
    await holds.on_held(run, tenant(), limited(credits=0), [command()])

    assert state.credits == 0
    assert state.stored_reason == "API credits exhausted (429)"
    assert state.pause_state.until == NOW + timedelta(seconds=900)
    assert run.outputs == []  # drained again: no second "deferred" outcome


async def test_few_credits_left_after_a_write_pause_before_zoho_refuses(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    state, _, holds = stores
    run = TenantRun("acme", {}, {}, from_parking=False)
    await holds.on_reply(run, 500)
    assert (state.credits, state.pauses, run.hold.held) == (500, 0, False)
    await holds.on_reply(run, POLICY.credit_reserve - 1)
    assert state.stored_reason == "API credits nearly exhausted"
    assert run.hold.reason is HoldReason.CREDITS_LOW


async def test_a_revoked_token_holds_until_new_credentials_and_logs_once(
    stores: tuple[State, Parking, TenantHolds], caplog: pytest.LogCaptureFixture
) -> None:
    state, parking, holds = stores
    with caplog.at_level(logging.ERROR, logger="zoho_writer.hold"):
        for key in ("01-A", "01-B"):
            run = TenantRun("acme", {}, {}, from_parking=False)
            await holds.on_held(run, tenant(), revoked(), [command(key)])
    assert len([r for r in caplog.records if "mlc zoho connect acme" in r.getMessage()]) == 1
    assert state.pauses == 0  # no pause: waiting does not help, a person must reconnect
    assert state.reconnect is not None
    assert state.reconnect[0] == credentials_fingerprint(tenant())
    assert all("mlc zoho connect acme" in reason for reason in parking.parked.values())
    assert "1000.refresh" not in state.reconnect[1]  # never the secret

    later = TenantRun("acme", {}, {}, from_parking=True)
    assert await holds.check(later, tenant()) is True
    assert later.hold.park_reason == state.reconnect[1]

    reconnected = TenantRun("acme", {}, {}, from_parking=True)
    assert await holds.check(reconnected, tenant(refresh_token="1000.new")) is False
    assert state.reconnect is None


async def test_reconnecting_outranks_a_pause_in_the_same_pass(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    _, parking, holds = stores
    run = TenantRun("acme", {}, {}, from_parking=False)
    await holds.on_held(run, tenant(), limited(), [command("01-A")])
    await holds.on_held(run, tenant(), revoked(), [command("01-B")])
    await holds.park_held(run, [command("01-C")])
    assert run.hold.reason is HoldReason.RECONNECT
    reasons = list(parking.parked.values())
    assert reasons[0] == PAUSED  # parked before the token was refused
    assert all("mlc zoho connect acme" in r for r in reasons[1:])


async def test_a_paused_tenant_is_held_before_any_call(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    state, _, holds = stores
    state.pause_state = PauseState(NOW + timedelta(seconds=10), 1)
    state.stored_reason = "API credits nearly exhausted"
    run = TenantRun("acme", {}, {}, from_parking=False)
    assert await holds.check(run, tenant()) is True
    assert run.hold.reason is HoldReason.CREDITS_LOW
    assert run.hold.park_reason == PAUSED
    state.pause_state = PauseState(NOW - timedelta(seconds=1), 1)
    assert await holds.check(TenantRun("acme", {}, {}, from_parking=False), tenant()) is False


async def test_a_fault_pauses_the_tenant_opens_its_circuit_and_parks_with_the_reason(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    state, parking, holds = stores
    run = TenantRun("acme", {}, {}, from_parking=False)
    commands = [command(key=f"01-{i}") for i in range(3)]
    await holds.on_fault(run, HoldReason.ZOHO_MALFORMED, "ZohoError: no results", commands)
    assert state.stored_reason == "Zoho answered malformed"
    assert state.detail == "ZohoError: no results" and state.circuit
    assert all("no results" in reason for reason in parking.parked.values())
    assert len(deferred_reasons(run)) == 3
    # The pause ends, the circuit does not: the consumer still parks, the drain may probe.
    state.pause_state = PauseState(NOW - timedelta(seconds=1), 1)
    assert await holds.check(TenantRun("acme", {}, {}, from_parking=False), tenant())
    assert not await holds.check(TenantRun("acme", {}, {}, from_parking=True), tenant())
    await holds.resume("acme")
    assert not await holds.check(TenantRun("acme", {}, {}, from_parking=False), tenant())


async def test_retryable_failures_of_a_whole_share_open_the_circuit_of_a_few_records_do_not(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    state, parking, holds = stores
    down = Failure("ZohoUnavailable", "503", retryable=True)
    run = TenantRun("acme", {}, {}, from_parking=False)
    run.faulty = [([command(key="01-1")], down)]
    await holds.settle_faults(run)
    assert state.stored_reason == HoldReason.ZOHO_UNAVAILABLE.value and state.circuit
    state.circuit, state.stored_reason = False, None
    partly = TenantRun("acme", {}, {}, from_parking=False)
    partly.faulty, partly.wrote = [([command(key="01-2")], down)], True
    await holds.settle_faults(partly)
    assert not state.circuit and state.stored_reason is None  # the tenant flows on
    assert len(parking.parked) == 2 and not partly.faulty


async def test_a_command_parked_for_faults_too_often_fails_for_a_person(
    stores: tuple[State, Parking, TenantHolds],
) -> None:
    _, parking, holds = stores
    worn, fresh = command(key="01-1"), command(key="01-2")
    run = TenantRun("acme", {}, {worn.event_id: POLICY.fault_attempts}, from_parking=True)
    await holds.on_fault(run, HoldReason.ZOHO_UNAVAILABLE, "503", [worn, fresh])
    [outcome] = [o for _, o in run.outputs if isinstance(o, ZohoWriteOutcome)]
    assert outcome.causation_id == worn.event_id and outcome.status is OutcomeStatus.FAILED
    assert outcome.retryable and set(parking.parked) == {fresh.event_id}
