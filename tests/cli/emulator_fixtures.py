"""The Sage and Zoho emulators as processes (as tests/e2e starts them), and `mlc` in a thread.

Test modules import the fixtures they use: `from tests.cli.emulator_fixtures import emulators`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlc_cli.main import run
from mlc_devtools.devstack import DevStack, StackConfig

from tests.e2e.conftest import free_port

CLIENT_ID = "1000.PINGTESTCLIENT"
CLIENT_SECRET = "ping-test-client-secret-91c2"  # an emulator-only credential
ALL_SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.org.READ"]


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    config = StackConfig(
        sage_port=free_port(),
        zoho_port=free_port(),
        sage_agent_token="agent-token-" + uuid.uuid4().hex[:12],
        log_dir=Path(tmp_path_factory.mktemp("emulator-logs")),
    )
    stack = DevStack(config)
    stack.start_emulators()
    try:
        yield config
    finally:
        stack.stop_all()


async def zoho_org(
    config: StackConfig, org: str, *, scopes: list[str] | None = None, edition: str = "enterprise"
) -> dict[str, Any]:
    """An emulated Zoho org with our OAuth client, and a fresh grant code for it."""
    async with httpx.AsyncClient(base_url=config.zoho_url, timeout=30) as zoho:
        await zoho.post(
            "/_emulator/clients", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        )
        await zoho.post("/_emulator/orgs", json={"org_id": org, "dc": "us", "edition": edition})
        return await grant_code(zoho, org, scopes or ALL_SCOPES)


async def grant_code(zoho: httpx.AsyncClient, org: str, scopes: list[str]) -> dict[str, Any]:
    response = await zoho.post(
        f"/_emulator/orgs/{org}/grant-codes", json={"client_id": CLIENT_ID, "scopes": scopes}
    )
    response.raise_for_status()
    minted: dict[str, Any] = response.json()
    return minted


async def sage_company(config: StackConfig, company: str, customers: int = 3) -> None:
    async with httpx.AsyncClient(base_url=config.sage_url, timeout=30) as sage:
        response = await sage.post(
            f"/_emulator/companies/{company}/seed", json={"count": customers, "seed": 7}
        )
        response.raise_for_status()


async def mlc(*argv: str) -> None:
    """Run the real CLI entry point (it calls asyncio.run) in a thread of its own."""
    await asyncio.to_thread(run, list(argv))
