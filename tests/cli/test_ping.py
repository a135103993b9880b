"""`mlc ping` against the Sage and Zoho emulators over HTTP: a healthy tenant passes every check;
each misconfiguration fails its own check with a fix; nothing is written anywhere."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
from mlc_core.contracts import Entity
from mlc_core.crypto import KeyRing
from mlc_core.tenants import SageConfig, Tenant, TenantConfig, TenantSecrets, ZohoConfig, add_tenant
from mlc_core.zoho.oauth import exchange_grant_code
from mlc_devtools.devstack import StackConfig
from pydantic import SecretStr

from tests.cli.emulator_fixtures import (
    ALL_SCOPES,
    CLIENT_ID,
    CLIENT_SECRET,
    emulators,
    mlc,
    sage_company,
    zoho_org,
)

pytestmark = pytest.mark.integration
__all__ = ["emulators"]


async def make_tenant(
    config: StackConfig,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    *,
    scopes: list[str] = ALL_SCOPES,
    edition: str = "enterprise",
    entities: tuple[Entity, ...] = (Entity.AR_CUSTOMER,),
    agent_token: str | None = None,
    company: str = "PNG",
    client_secret: str = CLIENT_SECRET,
) -> None:
    await sage_company(config, "PNG")
    minted = await zoho_org(config, tenant_id, scopes=scopes, edition=edition)
    async with httpx.AsyncClient(timeout=30) as http:
        grant = await exchange_grant_code(
            http,
            accounts_url=minted["accounts_server"],
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            code=minted["code"],
        )
    assert grant.refresh_token
    tenant = Tenant(
        tenant_id=tenant_id,
        display_name=tenant_id,
        config=TenantConfig(
            sage=SageConfig(company_code=company, agent_url=config.sage_url),
            zoho=ZohoConfig(accounts_url=minted["accounts_server"], client_id=CLIENT_ID),
            entities=list(entities),
        ),
        secrets=TenantSecrets(
            sage_agent_token=SecretStr(agent_token or config.sage_agent_token),
            zoho_client_secret=SecretStr(client_secret),
            zoho_refresh_token=SecretStr(grant.refresh_token),
        ),
    )
    await add_tenant(pool, keyring=keyring, tenant=tenant)


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, app_dsn: str, master_keys: str) -> None:
    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", master_keys)


async def ping_json(
    tenant_id: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, dict[str, Any]]:
    """Run `mlc ping --json`; returns the checks by name (exit status 1 is a failed check)."""
    try:
        await mlc("ping", tenant_id, "--json")
    except SystemExit as exc:
        assert exc.code == 1
    checks = json.loads(capsys.readouterr().out)["checks"]
    return {c["name"]: c for c in checks}


def failed(checks: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: c["fix"] for name, c in checks.items() if c["status"] == "fail"}


async def test_healthy_tenant_passes_and_nothing_is_written(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await make_tenant(emulators, app_pool, keyring, tenant_id)
    await mlc("zoho", "setup", tenant_id)
    capsys.readouterr()
    await mlc("ping", tenant_id)  # exit status 0: no SystemExit
    text = capsys.readouterr().out
    assert "all checks passed" in text
    checks = await ping_json(tenant_id, capsys)
    assert failed(checks) == {}
    expected = {
        "agent reachable",
        "agent authorised, PNG/ar_customer readable",
        "token refresh",
        "api_domain",
        "org and edition",
        "modules",
        "external key Accounts.Sage_Customer_No",
        "mapped fields Accounts",
        "scopes",
    }
    assert expected <= {name for name, c in checks.items() if c["status"] == "ok"}
    assert "enterprise" in checks["org and edition"]["detail"]
    assert "Vendors yes" in checks["modules"]["detail"]
    assert (
        await app_pool.fetchval("SELECT count(*) FROM zoho_tokens WHERE tenant_id=$1", tenant_id)
        == 0
    )
    async with httpx.AsyncClient(base_url=emulators.zoho_url) as zoho:
        accounts = (await zoho.get(f"/_emulator/orgs/{tenant_id}/records/Accounts")).json()
    assert accounts["data"] == []


async def test_a_tenant_without_zoho_setup_fails_naming_the_fields_it_would_leave_empty(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Zoho ignores fields it does not have: without `mlc zoho setup`, the Sage_* fields of
    every Account would stay empty, so ping fails and names them and the fix."""
    await make_tenant(emulators, app_pool, keyring, tenant_id)
    checks = await ping_json(tenant_id, capsys)
    assert list(failed(checks)) == ["mapped fields Accounts"]
    check = checks["mapped fields Accounts"]
    for name in ("Sage_Credit_Limit", "Sage_Status", "Sage_Aging_4"):
        assert name in check["detail"]
    assert "Account_Name" not in check["detail"]  # Zoho's own fields are there
    assert f"mlc zoho setup {tenant_id}" in check["fix"]


async def test_wrong_agent_token_and_client_secret_each_say_what_to_fix(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await make_tenant(
        emulators, app_pool, keyring, tenant_id,
        agent_token="not-the-agent-token", client_secret="not-the-client-secret",
    )  # fmt: skip
    with pytest.raises(SystemExit):
        await mlc("ping", tenant_id)
    assert "FAIL" in capsys.readouterr().out
    fixes = failed(await ping_json(tenant_id, capsys))
    assert "MLC_SAGE_AGENT_TOKEN" in fixes["agent token accepted"]
    assert f"mlc zoho connect {tenant_id}" in fixes["token refresh"]


async def test_unknown_company_and_missing_scopes(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await make_tenant(
        emulators, app_pool, keyring, tenant_id, company="ZZZ", scopes=["ZohoCRM.modules.ALL"]
    )
    checks = await ping_json(tenant_id, capsys)
    fixes = failed(checks)
    assert "ZZZ" in fixes["agent authorised, ZZZ/ar_customer readable"]
    assert "ZohoCRM.org.READ" in fixes["org and edition"]
    assert "ZohoCRM.settings.modules.READ" in fixes["modules"]
    assert "org" in checks["scopes"]["detail"] and "mlc zoho connect" in fixes["scopes"]
    assert checks["token refresh"]["status"] == "ok"


async def test_edition_without_vendors(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await make_tenant(
        emulators, app_pool, keyring, tenant_id,
        edition="standard", entities=(Entity.AR_CUSTOMER, Entity.AP_VENDOR),
    )  # fmt: skip
    checks = await ping_json(tenant_id, capsys)
    assert "standard" in checks["org and edition"]["detail"]
    assert checks["modules"]["status"] == "fail"
    assert "missing: Vendors" in checks["modules"]["detail"]
    assert checks["external key Accounts.Sage_Customer_No"]["status"] == "ok"


async def test_invoice_history_needs_the_open_invoice_key_too(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """History upserts match on Sage_Open_Invoice_Key as well; an org set up before open
    invoices existed lacks it, and ping says so before every invoice upsert fails."""
    await make_tenant(
        emulators, app_pool, keyring, tenant_id,
        entities=(Entity.AR_CUSTOMER, Entity.AR_INVOICE),
    )  # fmt: skip
    checks = await ping_json(tenant_id, capsys)
    missing = checks["external key Invoices.Sage_Open_Invoice_Key"]
    assert missing["status"] == "fail" and missing["detail"] == "field missing"
    assert f"mlc zoho setup {tenant_id}" in missing["fix"]


async def test_unreachable_agent(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await make_tenant(emulators, app_pool, keyring, tenant_id)
    await app_pool.execute(
        "UPDATE tenants SET config = jsonb_set(config, '{sage,agent_url}', '\"http://127.0.0.1:9\"')"
        " WHERE tenant_id = $1",
        tenant_id,
    )
    checks = await ping_json(tenant_id, capsys)
    assert "firewall" in failed(checks)["agent reachable"]
    assert checks["token refresh"]["status"] == "ok"  # one part's failure does not hide another's
