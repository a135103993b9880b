"""`mlc ping`'s SOAP checks against the Sage emulator's eBusiness Web Services over HTTP: a good
logon passes; a wrong password, a user without rights and an unknown company each fail with
their own fix; a tenant without a stored logon is skipped, not failed."""

from __future__ import annotations

import contextlib
import io

import asyncpg
import pytest
from mlc_core.crypto import KeyRing
from mlc_core.sage.soap import SageSoapNoAccess
from mlc_core.tenants import load_tenant, save_tenant
from mlc_devtools.devstack import StackConfig
from mlc_ops.ping_checks import soap_failure
from pydantic import SecretStr

from tests.cli.emulator_fixtures import emulators, mlc
from tests.cli.test_ping import cli_env, failed, make_tenant, ping_json

pytestmark = pytest.mark.integration
__all__ = ["cli_env", "emulators"]
LOGON = "SOAP logon and company"


async def soap_tenant(
    config: StackConfig,
    pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    *,
    user: str | None = "WEBSVC",
    password: str = "secret",
    company: str = "PNG",
) -> None:
    await make_tenant(config, pool, keyring, tenant_id, company=company)
    with contextlib.redirect_stdout(io.StringIO()):  # setup's report is not ping's JSON
        await mlc("zoho", "setup", tenant_id)  # so the Zoho checks pass and only SOAP's count
    tenant = await load_tenant(pool, keyring=keyring, tenant_id=tenant_id)
    sage = tenant.config.sage.model_copy(
        update={"soap_url": f"{config.sage_url}/ws/eBusinessWebServices.svc", "username": user}
    )
    tenant.config.sage = sage
    tenant.secrets.sage_password = SecretStr(password) if user else None
    await save_tenant(pool, keyring=keyring, tenant=tenant)


async def test_good_logon_passes(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await soap_tenant(emulators, app_pool, keyring, tenant_id)
    checks = await ping_json(tenant_id, capsys)
    assert failed(checks) == {}
    assert checks["SOAP reachable"]["status"] == "ok"
    assert "no TLS" in checks["SOAP reachable"]["detail"]
    assert checks[LOGON]["status"] == "ok"
    assert checks[LOGON]["detail"] == "user WEBSVC accepted for company PNG (read-only probe)"


async def test_wrong_password_says_to_set_user_and_password(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await soap_tenant(emulators, app_pool, keyring, tenant_id, password="not-the-password")
    checks = await ping_json(tenant_id, capsys)
    assert set(failed(checks)) == {LOGON}
    assert checks[LOGON]["detail"] == "Sage refused the logon of WEBSVC"
    fix = checks[LOGON]["fix"]
    assert "mlc sage set <tenant> --user WEBSVC" in fix and "MLC_SAGE_PASSWORD" in fix
    assert "not-the-password" not in capsys.readouterr().out + str(checks)


async def test_unknown_user_and_unknown_company(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await soap_tenant(emulators, app_pool, keyring, tenant_id, user="NOBODY")
    unknown_user = await ping_json(tenant_id, capsys)
    assert unknown_user[LOGON]["detail"] == "Sage refused the logon of NOBODY"
    assert "--user NOBODY" in failed(unknown_user)[LOGON]
    await soap_tenant(emulators, app_pool, keyring, tenant_id + "z", company="ZZZ")
    checks = await ping_json(tenant_id + "z", capsys)
    assert checks[LOGON]["detail"] == "company ZZZ is not on file"
    assert "--company" in checks[LOGON]["fix"]


async def test_without_a_stored_logon_the_check_is_skipped(
    emulators: StackConfig,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    tenant_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await soap_tenant(emulators, app_pool, keyring, tenant_id, user=None)
    checks = await ping_json(tenant_id, capsys)
    assert checks["SOAP reachable"]["status"] == "ok"
    assert checks[LOGON]["status"] == "skip" and "MLC_SAGE_PASSWORD" in checks[LOGON]["detail"]


def test_a_user_without_rights_is_told_which_right_to_grant() -> None:
    # The emulator's web users all may view; Sage's WS_NoAccess fault maps to this class.
    check = soap_failure(SageSoapNoAccess("SOAP GetCustomer: WS_NoAccess: ..."), "WEB2", "ABC")
    assert check.status == "fail" and check.detail == "WEB2 may not read customers"
    assert "Role Maintenance" in check.fix and "View" in check.fix
