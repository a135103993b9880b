"""create_pool waits out a PostgreSQL restart but not a permanent refusal (unit, no server)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from mlc_core import db


class FlakyConnect:
    """asyncpg.create_pool that fails with the given errors first, then returns a pool."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors, self.calls = list(errors), 0

    async def __call__(self, *args: Any, **kwargs: Any) -> object:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return object()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_: float) -> None:
        return None

    monkeypatch.setattr(db.asyncio, "sleep", instant)


async def test_a_restarting_server_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    starting = asyncpg.CannotConnectNowError("the database system is starting up")
    flaky = FlakyConnect(ConnectionRefusedError(111, "refused"), starting)
    monkeypatch.setattr(db.asyncpg, "create_pool", flaky)
    pool = await db.create_pool("postgresql://x@127.0.0.1:1/db", retry_for=30.0)
    assert pool is not None
    assert flaky.calls == 3


async def test_wrong_credentials_fail_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = FlakyConnect(asyncpg.InvalidPasswordError("password authentication failed"))
    monkeypatch.setattr(db.asyncpg, "create_pool", flaky)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await db.create_pool("postgresql://x@127.0.0.1:1/db", retry_for=30.0)
    assert flaky.calls == 1


async def test_a_server_that_stays_down_fails_after_the_retry_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flaky = FlakyConnect(*[ConnectionRefusedError(111, "refused")] * 50)
    monkeypatch.setattr(db.asyncpg, "create_pool", flaky)
    with pytest.raises(ConnectionRefusedError):
        await db.create_pool("postgresql://x@127.0.0.1:1/db")  # a command: no retry window
    assert flaky.calls == 1
