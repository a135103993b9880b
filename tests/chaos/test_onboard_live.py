"""The chaos suite's onboarding on the Zoho emulator over HTTP, without the test suite's own
MLC_ZOHO_ALLOWED_HOSTS: `make chaos` runs from a plain shell, where the emulator's host is not
a Zoho data centre unless onboarding allows it itself."""

from __future__ import annotations

import asyncpg
import pytest
from mlc_core.crypto import KeyRing
from mlc_core.tenants import load_tenant
from mlc_devtools.devstack import StackConfig

from chaos.onboard import connect
from tests.services.zoho_writer.live import emulator_url

pytestmark = pytest.mark.integration
__all__ = ["emulator_url"]


async def test_onboarding_runs_zoho_setup_without_the_allowed_hosts_variable(
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    emulator_url: str,
    tenant_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLC_ZOHO_ALLOWED_HOSTS", raising=False)
    port = int(emulator_url.rsplit(":", 1)[1])
    await connect(
        pool=app_pool,
        keyring=keyring,
        stack=StackConfig(zoho_port=port),
        tenant_id=tenant_id,
        company="ABC",
    )
    tenant = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    assert tenant.config.zoho.accounts_url.startswith(f"http://127.0.0.1:{port}")
