"""One broken tenant never stops another (docs/failure-costs.md, zoho-writer), on real
PostgreSQL and Kafka with the Zoho emulator over HTTP: in each test one tenant's org (or its
data, or its state) is broken in one way, and the other tenant's records are all written
meanwhile, while the broken one is parked with a reason and written once it is healthy."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from mlc_core.contracts import Envelope, OutcomeStatus
from mlc_core.crypto import KeyRing, generate_key_text
from mlc_core.tenants import TenantSecrets, load_tenant, seal_secrets, set_enabled
from mlc_ops import tenants as ops
from pydantic import SecretStr
from zoho_writer.admin import zoho_holds

from tests.factories import command
from tests.services.zoho_writer.live import (
    Emulator,
    Writer,
    emulator_url,
    new_tenant,
    writer,
    writers,
    zoho,
)

pytestmark = pytest.mark.integration
__all__ = ["emulator_url", "writer", "writers", "zoho"]


def accounts(tenant: str, count: int, version: str = "20261126 10.000000") -> list[Envelope]:
    """`count` accounts; each version has its own content (Fax), so each is written."""
    return [
        command(key=f"01-{i:05d}", version=version, tenant=tenant, Fax=version)
        for i in range(count)
    ]


def bounded(writer: Writer, *, call: float = 0.5, share: float = 2.0) -> Writer:
    """The writer with short per-call and per-share bounds (the settings a test lowers)."""
    policy = dataclasses.replace(
        writer.deps.policy, call_timeout_seconds=call, share_deadline_seconds=share
    )
    return Writer(dataclasses.replace(writer.deps, policy=policy), writer.publisher)


async def two_tenants(
    pool: asyncpg.Pool, keyring: KeyRing, zoho: Emulator, tenant_id: str
) -> tuple[str, str]:
    return (
        await new_tenant(pool, keyring, zoho, f"{tenant_id}ok"),
        await new_tenant(pool, keyring, zoho, f"{tenant_id}bad"),
    )


async def written(zoho: Emulator, tenant: str) -> int:
    return len(await zoho.records(tenant))


async def calls(zoho: Emulator, tenant: str) -> int:
    return int((await zoho.stats(tenant))["calls"]["total"])


async def hold_of(pool: asyncpg.Pool, tenant: str) -> str:
    [hold] = await zoho_holds(pool, tenant_id=tenant)
    return f"{hold.pause_reason}: {hold.pause_detail}"


def assert_nothing_failed(writer: Writer, tenant: str) -> None:
    assert not writer.publisher.outcomes(tenant, OutcomeStatus.FAILED)
    assert not writer.publisher.letters(tenant)


@pytest.mark.parametrize("answer", ["no_data", "malformed", "empty"])
async def test_an_org_answering_malformed_parks_its_tenant_and_the_other_is_written(
    writer: Writer,
    zoho: Emulator,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    answer: str,
) -> None:
    ok, bad = await two_tenants(app_pool, keyring, zoho, tenant_id)
    await zoho.control("POST", "/_emulator/faults", org=bad, answer=answer)
    await writer.handle(accounts(ok, 250) + accounts(bad, 250))
    assert await written(zoho, ok) == 250
    deferred = writer.publisher.outcomes(bad, OutcomeStatus.DEFERRED)
    assert len(deferred) == 250 and "Zoho answered malformed" in (deferred[0].error_message or "")
    assert "Zoho answered malformed: ZohoError" in await hold_of(app_pool, bad)
    assert await writer.deps.parking.count(bad) == 250
    # The circuit is open: the next batch parks the tenant without a call to its org.
    probes = await calls(zoho, bad)
    await writer.handle(
        accounts(ok, 250, "20261126 11.000000") + accounts(bad, 10, "20261126 11.000000")
    )
    assert await calls(zoho, bad) == probes
    assert len(writer.publisher.outcomes(ok, OutcomeStatus.SUCCEEDED)) == 500
    await zoho.control("DELETE", f"/_emulator/faults?org={bad}")
    await writer.drain_until_empty(bad)
    assert await written(zoho, bad) == 250
    assert not await zoho_holds(app_pool, tenant_id=bad)  # the circuit closed
    assert_nothing_failed(writer, bad)


async def test_a_tenant_whose_secrets_no_key_opens_is_parked_in_batches_and_drains(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    """Its master key was retired before its secrets were re-sealed: loading it fails."""
    ok, bad = await two_tenants(app_pool, keyring, zoho, tenant_id)
    # The other tenant's commands wait in PostgreSQL (its org's edition look-up, its field
    # list and first write answer 429), so the drain has both tenants to do.
    await zoho.control("POST", "/_emulator/faults", org=ok, status=429, calls=3)
    await writer.handle(accounts(ok, 100) + accounts(bad, 100))
    assert await writer.deps.parking.count(ok) == 100
    retired = KeyRing.parse(generate_key_text("retired"))
    secrets = TenantSecrets(
        sage_agent_token=SecretStr("a"),
        zoho_client_secret=SecretStr("b"),
        zoho_refresh_token=SecretStr("c"),
    )
    await app_pool.execute(
        "UPDATE tenants SET secrets = $2 WHERE tenant_id = $1",
        bad,
        seal_secrets(retired, bad, secrets),
    )
    later = "20261126 11.000000"
    await writer.handle(accounts(ok, 100, later) + accounts(bad, 5, later))
    assert "writer error: CryptoError" in await hold_of(app_pool, bad)
    await writer.drain_until_empty(ok)  # a pass never ends on the other tenant's failure
    records = await zoho.records(ok)
    assert len(records) == 100 and {r["Fax"] for r in records} == {later}
    await asyncio.sleep(2.5)  # past the tenant's pause: the drain tries it, and parks again
    await writer.drain_once()
    assert await writer.deps.parking.count(bad) == 5
    assert_nothing_failed(writer, bad)


async def test_a_hanging_org_costs_one_bounded_batch_then_nothing(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    ok, bad = await two_tenants(app_pool, keyring, zoho, tenant_id)
    await zoho.control("POST", "/_emulator/faults", org=bad, latency_ms=8000)
    fast = bounded(writer, call=0.5, share=2.0)
    started = time.monotonic()
    await fast.handle(accounts(ok, 300) + accounts(bad, 300))
    assert time.monotonic() - started < 6.0  # the org answers after 8 s: never waited for
    assert await written(zoho, ok) == 300
    assert "Zoho" in await hold_of(app_pool, bad)
    started = time.monotonic()
    await fast.handle(
        accounts(ok, 300, "20261126 11.000000") + accounts(bad, 300, "20261126 11.000000")
    )
    assert time.monotonic() - started < 2.0  # circuit open: parked without calling
    assert len(writer.publisher.outcomes(ok, OutcomeStatus.SUCCEEDED)) == 600
    await zoho.control("DELETE", f"/_emulator/faults?org={bad}")
    await fast.drain_until_empty(bad, within=90)
    assert await written(zoho, bad) == 300
    assert_nothing_failed(writer, bad)


async def test_a_5xx_burst_past_the_quick_attempts_is_retried_by_the_writer_itself(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    ok, bad = await two_tenants(app_pool, keyring, zoho, tenant_id)
    await zoho.control("POST", "/_emulator/faults", org=bad, status=503, calls=8)
    await writer.handle(accounts(ok, 100) + accounts(bad, 100))
    assert await written(zoho, ok) == 100
    deferred = writer.publisher.outcomes(bad, OutcomeStatus.DEFERRED)
    assert deferred and all(d.retryable for d in deferred)
    assert "Zoho unavailable" in await hold_of(app_pool, bad)
    await writer.drain_until_empty(bad, within=90)
    assert await written(zoho, bad) == 100
    assert_nothing_failed(writer, bad)  # no `mlc replay --failed-only` needed


async def test_a_disabled_tenant_is_not_written_refreshed_or_drained_and_keeps_its_commands(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    ok, off = await two_tenants(app_pool, keyring, zoho, tenant_id)
    await set_enabled(app_pool, off, enabled=False)
    await writer.handle(accounts(ok, 100) + accounts(off, 100))
    await writer.drain_once()
    assert await written(zoho, ok) == 100
    stats = await zoho.stats(off)
    assert stats["calls"]["total"] == 0 and stats["token_refreshes"] == 0
    deferred = writer.publisher.outcomes(off, OutcomeStatus.DEFERRED)
    assert len(deferred) == 100 and "disabled" in (deferred[0].error_message or "")
    assert await writer.deps.parking.count(off) == 100
    await set_enabled(app_pool, off, enabled=True)
    await writer.drain_until_empty(off)
    assert await written(zoho, off) == 100


class FailingOnce:
    """Kafka unreachable for the first publish (the write to Zoho already happened)."""

    def __init__(self, writer: Writer) -> None:
        self.real, self.failed = writer.publisher.publish_all, False

    async def __call__(self, items: Any) -> None:
        if not self.failed:
            self.failed = True
            raise KafkaConnectionError("broker unreachable")
        await self.real(items)


async def test_a_batch_redelivered_after_kafka_failed_does_not_write_zoho_again(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    ok, other = await two_tenants(app_pool, keyring, zoho, tenant_id)
    batch = accounts(ok, 150) + accounts(other, 50)
    writer.publisher.publish_all = FailingOnce(writer)  # type: ignore[method-assign]
    with pytest.raises(KafkaConnectionError):
        await writer.handle(batch)
    calls_before = await calls(zoho, ok)
    writer.offsets.clear()  # redelivered from the same offsets
    await writer.handle(batch)
    assert await calls(zoho, ok) == calls_before  # no second write
    records = await zoho.records(ok)
    assert len(records) == 150 and all(r["$write_count"] == 1 for r in records)
    succeeded = writer.publisher.outcomes(ok, OutcomeStatus.SUCCEEDED)
    assert len(succeeded) == 150 and all(o.zoho_id for o in succeeded)


async def test_a_reused_tenant_id_starts_clean(
    writer: Writer, zoho: Emulator, app_pool: asyncpg.Pool, keyring: KeyRing, tenant_id: str
) -> None:
    tenant = await new_tenant(app_pool, keyring, zoho, tenant_id)
    await writer.handle(accounts(tenant, 20))
    await set_enabled(app_pool, tenant, enabled=False)
    await writer.handle(accounts(tenant, 20, "20261126 11.000000"))
    kept = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant)
    await ops.remove(pool=app_pool, tenant_id=tenant)
    await ops.add(pool=app_pool, keyring=keyring, tenant=kept.model_copy(update={"enabled": True}))
    for table in ("writer_parked", "writer_versions", "writer_tenant_state", "zoho_tokens"):
        left = await app_pool.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant)
        assert left == 0, table
