"""The writer's hold policy (pure): which Zoho errors hold a tenant, by class, and how long a
pause lasts (base, doubling per episode, cap, one episode for simultaneous 429s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from mlc_core.crypto import CryptoError
from mlc_core.zoho.errors import (
    ZohoAuthError,
    ZohoError,
    ZohoModuleUnavailable,
    ZohoRateLimited,
    ZohoTokenInvalid,
    ZohoTokenThrottled,
    ZohoUnavailable,
)
from zoho_writer.calls import Blocked, answer_for
from zoho_writer.hold_policy import (
    Held,
    HoldPolicy,
    HoldReason,
    PauseState,
    describe,
    fault_for,
    hold_for,
)
from zoho_writer.service import Failure
from zoho_writer.settings import WriterSettings

POLICY = HoldPolicy(pause_seconds=30.0, pause_cap_seconds=900.0, credit_pause_seconds=900.0)
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def limited(credits: int | None) -> ZohoRateLimited:
    exc = ZohoRateLimited("429", code="TOO_MANY_REQUESTS", status=429)
    exc.credits_remaining = credits
    return exc


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (limited(None), HoldReason.RATE_LIMITED),
        (limited(12), HoldReason.RATE_LIMITED),
        (limited(0), HoldReason.CREDITS_EXHAUSTED),
        (ZohoTokenThrottled("Access Denied"), HoldReason.RATE_LIMITED),
        (ZohoAuthError("invalid_code", code="invalid_code"), HoldReason.RECONNECT),
        (ZohoUnavailable("502", status=502), None),
        (ZohoTokenInvalid("401", code="INVALID_TOKEN"), None),
        (ZohoModuleUnavailable("no module", code="INVALID_MODULE"), None),
    ],
)
def test_the_hold_follows_the_error_class(exc: ZohoError, reason: HoldReason | None) -> None:
    assert hold_for(exc) is reason


def test_the_message_text_decides_nothing() -> None:
    assert hold_for(ZohoUnavailable("429 Too Many Requests, credits exhausted")) is None
    assert hold_for(ZohoAuthError("")) is HoldReason.RECONNECT


def test_answers_by_class() -> None:
    held = answer_for(limited(3))
    assert isinstance(held, Held) and held.credits_remaining == 3
    assert isinstance(answer_for(ZohoModuleUnavailable("x", code="INVALID_MODULE")), Blocked)
    retry = answer_for(ZohoUnavailable("502", code="INTERNAL_ERROR"))
    assert retry == Failure("INTERNAL_ERROR", "502", retryable=True)
    permanent = answer_for(ZohoTokenInvalid("401", code="INVALID_TOKEN"))
    assert isinstance(permanent, Failure) and not permanent.retryable


def test_a_first_slow_episode_is_a_probe_by_the_drain_and_the_next_pauses() -> None:
    probe = POLICY.paused_again(PauseState(), HoldReason.ZOHO_SLOW, NOW)
    assert probe == PauseState(until=NOW, episodes=1)
    later = NOW + timedelta(seconds=5)
    again = POLICY.paused_again(probe, HoldReason.ZOHO_SLOW, later)
    assert again == PauseState(until=later + timedelta(seconds=60), episodes=2)
    down = POLICY.paused_again(PauseState(), HoldReason.ZOHO_UNAVAILABLE, NOW)
    assert down.until == NOW + timedelta(seconds=30)  # a 5xx is no probe: it waits the base


def test_a_first_pause_waits_the_base_for_its_reason() -> None:
    first = POLICY.paused_again(PauseState(), HoldReason.RATE_LIMITED, NOW)
    assert first == PauseState(until=NOW + timedelta(seconds=30), episodes=1)
    credits = POLICY.paused_again(PauseState(), HoldReason.CREDITS_LOW, NOW)
    assert credits.until == NOW + timedelta(seconds=900)


def test_pauses_in_a_row_double_up_to_the_cap() -> None:
    state, now, waits = PauseState(), NOW, []
    for _ in range(8):
        state = POLICY.paused_again(state, HoldReason.RATE_LIMITED, now)
        assert state.until is not None
        waits.append((state.until - now).total_seconds())
        now = state.until + timedelta(seconds=1)  # the pause is over, then Zoho 429s again
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]
    assert state.episodes == 8


def test_a_429_during_a_pause_is_the_same_episode_and_never_shortens_it() -> None:
    long = PauseState(until=NOW + timedelta(seconds=600), episodes=3)
    again = POLICY.paused_again(long, HoldReason.RATE_LIMITED, NOW)
    assert again.episodes == 3
    assert again.until == NOW + timedelta(seconds=600)  # 30 * 2**3 = 240 s is shorter
    short = PauseState(until=NOW + timedelta(seconds=5), episodes=1)
    extended = POLICY.paused_again(short, HoldReason.RATE_LIMITED, NOW)
    assert (extended.episodes, extended.until) == (1, NOW + timedelta(seconds=60))


def test_a_long_run_of_pauses_cannot_overflow() -> None:
    state = POLICY.paused_again(PauseState(episodes=10_000), HoldReason.RATE_LIMITED, NOW)
    assert state.until == NOW + timedelta(seconds=900)


def test_the_settings_are_the_one_source_of_the_numbers() -> None:
    settings = WriterSettings(writer_pause_seconds=2, writer_pause_cap_seconds=7)
    policy = settings.hold_policy()
    assert (policy.pause_seconds, policy.pause_cap_seconds) == (2, 7)
    assert settings.policy().parent_attempts == settings.writer_parent_attempts
    assert settings.retry_policy().attempts == settings.writer_attempts


def test_a_stored_pause_reads_back_as_its_reason() -> None:
    for reason in HoldReason:
        assert HoldReason.of_pause(reason.value) is reason
    assert HoldReason.of_pause("") is HoldReason.RATE_LIMITED  # a pause from before reasons


@pytest.mark.parametrize(
    ("error", "cost"),
    [
        (
            ZohoError("Zoho write answered 200 without one result per record"),
            HoldReason.ZOHO_MALFORMED,
        ),
        (ZohoUnavailable("503"), HoldReason.ZOHO_UNAVAILABLE),
        (ZohoRateLimited("429"), HoldReason.RATE_LIMITED),
        (ZohoAuthError("invalid_code"), HoldReason.RECONNECT),
        (CryptoError("no key can open this"), HoldReason.WRITER_ERROR),
        (KeyError("Account_Name"), HoldReason.WRITER_ERROR),
        (ConnectionRefusedError("PostgreSQL"), None),
        (asyncpg.PostgresConnectionError("gone"), None),
        (KafkaConnectionError(), None),
    ],
)
def test_what_a_failure_costs_is_decided_by_its_class(
    error: BaseException, cost: HoldReason | None
) -> None:
    assert fault_for(error) is cost
    assert (cost is not None and cost.opens_circuit) is (
        cost in (HoldReason.ZOHO_MALFORMED, HoldReason.ZOHO_UNAVAILABLE, HoldReason.WRITER_ERROR)
    )


def test_a_fault_is_described_on_one_short_line() -> None:
    text = describe(ValueError("bad\nvalue " + "x" * 500))
    assert text.startswith("ValueError: bad value") and len(text) == 300
