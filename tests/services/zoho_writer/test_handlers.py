"""handle_batch's fan-out (pure orchestration; the shares themselves are tested live): every
tenant of a batch gets its share, at most SHARES_AT_ONCE of them at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from mlc_core.contracts import Envelope, encode
from zoho_writer import handlers
from zoho_writer.run import TenantRun

from tests.factories import FakeRecord, command

pytestmark = pytest.mark.unit


class Published:
    def __init__(self) -> None:
        self.items: list[tuple[str, Envelope]] = []

    async def publish_all(self, items: Sequence[tuple[str, Envelope]]) -> None:
        self.items += items


class Deps:
    def __init__(self) -> None:
        self.publisher = Published()


async def test_a_batch_of_many_tenants_writes_at_most_shares_at_once_of_them_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running, most, seen = 0, 0, []

    async def share(tenant_id: str, upserts: list[Any], deletes: list[Any], deps: Any,
                    **_: Any) -> TenantRun:  # fmt: skip
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        seen.append((tenant_id, len(upserts)))
        return TenantRun(tenant_id, {}, {}, False)

    monkeypatch.setattr(handlers, "write_share", share)
    tenants = [f"t{i:03d}" for i in range(handlers.SHARES_AT_ONCE * 3 + 5)]
    records = [
        FakeRecord(value=encode(command(key=f"01-{k}", tenant=t)), offset=i)
        for i, (t, k) in enumerate((t, k) for t in tenants for k in range(2))
    ]
    await handlers.handle_batch(records, deps=Deps())  # type: ignore[arg-type]
    assert most == handlers.SHARES_AT_ONCE
    assert sorted(seen) == [(t, 2) for t in tenants]
