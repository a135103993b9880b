"""handle_batch's fan-out (pure orchestration; the shares themselves are tested live): every
tenant of a batch gets its share, at most SHARES_AT_ONCE of them at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from mlc_core.contracts import DeadLetter, Envelope, Topics, ZohoUpsertCommand, encode
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


def keyed(cmd: ZohoUpsertCommand, offset: int, key: bytes | None = None) -> FakeRecord:
    return FakeRecord(value=encode(cmd), key=cmd.kafka_key if key is None else key, offset=offset)


async def test_a_batch_decodes_only_the_commands_of_the_shares_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch of many tenants holds at most SHARES_AT_ONCE shares' decoded commands: each
    share decodes its own when it starts (the writer's peak memory at a thousand tenants)."""
    decoded, started, most_ahead = 0, 0, 0
    decode = handlers.decode_checked

    def counting(raw: bytes) -> Any:
        nonlocal decoded
        decoded += 1
        return decode(raw)

    async def share(tenant_id: str, upserts: list[Any], deletes: list[Any], deps: Any,
                    **_: Any) -> TenantRun:  # fmt: skip
        nonlocal started, most_ahead
        started += 1
        most_ahead = max(most_ahead, decoded - 2 * started)
        await asyncio.sleep(0.01)
        return TenantRun(tenant_id, {}, {}, False)

    monkeypatch.setattr(handlers, "decode_checked", counting)
    monkeypatch.setattr(handlers, "write_share", share)
    tenants = [f"t{i:03d}" for i in range(handlers.SHARES_AT_ONCE * 3)]
    commands = [command(key=f"01-{k}", tenant=t) for t in tenants for k in range(2)]
    records = [keyed(cmd, i) for i, cmd in enumerate(commands)]
    await handlers.handle_batch(records, deps=Deps())  # type: ignore[arg-type]
    assert started == len(tenants)
    assert decoded == len(commands)  # keyed records are decoded once, by their share
    assert most_ahead == 0  # no share's commands decoded before it started


async def test_a_command_for_another_tenant_than_its_key_names_is_a_dead_letter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written: dict[str, list[str]] = {}

    async def share(tenant_id: str, upserts: list[ZohoUpsertCommand], deletes: list[Any],
                    deps: Any, **_: Any) -> TenantRun:  # fmt: skip
        written[tenant_id] = [cmd.tenant_id for cmd in upserts]
        return TenantRun(tenant_id, {}, {}, False)

    monkeypatch.setattr(handlers, "write_share", share)
    own, other, unkeyed = command(tenant="acme"), command(tenant="globex"), command(tenant="zeta")
    records = [
        keyed(own, 0),
        keyed(other, 1, key=b"acme|ar_customer|01-ABF"),  # claims acme's key, is globex's
        keyed(unkeyed, 2, key=b""),  # no tenant in its key: decoded to find it
    ]
    deps = Deps()
    await handlers.handle_batch(records, deps=deps)  # type: ignore[arg-type]
    assert written == {"acme": ["acme"], "zeta": ["zeta"]}
    [(topic, letter)] = deps.publisher.items
    assert topic == Topics.DEAD_LETTERS
    assert isinstance(letter, DeadLetter) and letter.tenant_id == "acme"
    assert "key names tenant acme, its command tenant globex" in letter.error_message
    assert "mlc.zoho.commands[0]@1" in letter.error_message
