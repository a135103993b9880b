"""A poll that fails while PostgreSQL is down must not end the tenant's loop (found by `make
chaos`: recording the failure failed too, the exception escaped `guarded`, and the tenant was
never polled again while the process lived on)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing, generate_key_text
from sage_poller.main import PollerSettings, TenantPoller


class DownStore:
    """PostgreSQL is restarting: every call fails."""

    def __init__(self) -> None:
        self.calls = 0

    async def record_status(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        raise ConnectionRefusedError(111, "Connect call failed")


class FailingPoller(TenantPoller):
    async def run_one(self, tenant: Any, entity: Entity, what: str) -> None:
        raise ConnectionRefusedError(111, "Connect call failed")


async def test_a_failure_that_cannot_be_recorded_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = DownStore()
    poller = FailingPoller(
        settings=PollerSettings(),
        pool=None,  # type: ignore[arg-type]
        keyring=KeyRing.parse(generate_key_text("t")),
        http=None,  # type: ignore[arg-type]
        store=store,  # type: ignore[arg-type]
        publisher=None,  # type: ignore[arg-type]
        stop=asyncio.Event(),
    )
    tenant = type("T", (), {"tenant_id": "acme"})()

    await poller.guarded(tenant, Entity.AR_CUSTOMER, "poll")  # type: ignore[arg-type]

    assert store.calls == 1
    assert any(r.getMessage() == "cannot record the failure" for r in caplog.records)
