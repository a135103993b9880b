"""`mlc replay offsets`: a full reset of the mapper's and the writer's consumer groups
re-drives every record of a 5,000-record load, with zero duplicates in Zoho and zero Zoho
calls (the mapper makes the same commands again, with the same ids, and the writer answers each
with the outcome it stored when that command first wrote).

The reset goes to the time the load started (`--to-datetime`), which for this tenant is
everything; the topics are shared with the other tests of the session, whose tenants are
re-driven too, harmlessly. MLC_TEST_REDRIVE_RECORDS changes the size (default 5,000).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from mlc_cli.replay_offsets import group_members
from mlc_core.contracts import Topics
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack
from mlc_devtools.emulated import connect_tenant
from mlc_ops.status import consumer_lag

from tests.e2e.conftest import eventually, outcome_keys, zoho_accounts
from tests.e2e.replay_support import amlc, zoho_calls

TENANT, COMPANY = "redrive-co", "RDV"
RECORDS = int(os.environ.get("MLC_TEST_REDRIVE_RECORDS", "5000"))
GROUPS = {"mlc-mapper": "mlc-mapper", "mlc-zoho-writer": "mlc-zoho-writer"}
REDRIVEN = {"mlc-mapper": Topics.SAGE_CHANGES, "mlc-zoho-writer": Topics.ZOHO_COMMANDS}


@pytest.fixture(scope="module")
async def loaded(
    services: DevStack,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> datetime:
    started = datetime.now(UTC) - timedelta(seconds=2)
    await connect_tenant(
        pool=app_pool, keyring=keyring, stack=services.config, tenant_id=TENANT, company=COMPANY
    )
    seeded = await sage.post(
        f"/_emulator/companies/{COMPANY}/seed",
        json={"count": RECORDS, "seed": 5, "division": "02"},
    )
    assert seeded.status_code == 200, seeded.text
    await eventually(
        lambda: outcome_keys(app_pool, TENANT, "succeeded"),
        lambda n: n == RECORDS,
        what=f"{RECORDS} records written",
        stack=services,
        within=900,
    )
    return started


async def test_offsets_reset_refuses_while_the_group_is_live(
    services: DevStack, kafka_bootstrap: str
) -> None:
    await eventually(
        lambda: group_members(kafka_bootstrap, "mlc-mapper"),
        lambda state: state[1] > 0,
        what="the mapper to join its group",
        stack=services,
    )
    refused = await amlc(
        services, "replay", "offsets", "--group", "mlc-mapper", "--to-earliest", "--execute",
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0, refused.stdout
    assert "refusing" in refused.stderr and "live member" in refused.stderr, refused.stderr


@pytest.mark.timeout(2400)  # includes loading the 5,000 records (module fixture)
async def test_full_offset_reset_redrives_without_duplicates_or_zoho_calls(
    loaded: datetime, services: DevStack, app_pool: asyncpg.Pool, zoho: httpx.AsyncClient
) -> None:
    calls = await zoho_calls(zoho, TENANT)
    since = loaded.isoformat()
    for group in GROUPS:
        services.stop(group)
    try:
        for group in GROUPS:
            dry = await amlc(
                services, "replay", "offsets", "--group", group, "--to-datetime", since
            )
            assert "dry run" in dry.stdout and "0 live member" in dry.stdout
            again = await amlc(
                services, "replay", "offsets", "--group", group, "--to-datetime", since
            )
            assert again.stdout == dry.stdout  # the dry run changed nothing
            done = await amlc(
                services, "replay", "offsets", "--group", group, "--to-datetime", since,
                "--execute",
            )  # fmt: skip
            assert "reset" in done.stdout
    finally:
        for group in GROUPS:
            services.start(group)

    # Re-driven through both groups: each has consumed everything again (the reset put their
    # committed offsets back to the load's start, so a lag of 0 means it has all been read).
    await eventually(
        lambda: consumer_lag(services.config.kafka_bootstrap, REDRIVEN),
        lambda lag: all(n == 0 for n in lag.values()),
        what="the mapper and the writer to consume the re-driven topics",
        stack=services,
        within=900,
    )
    accounts = await zoho_accounts(zoho, TENANT)
    assert len(accounts) == RECORDS == len({a["Sage_Customer_No"] for a in accounts})
    assert await zoho_calls(zoho, TENANT) == calls
