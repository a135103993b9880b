"""`mlc tenant|sage|zoho` against real PostgreSQL and the Zoho emulator over HTTP."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from mlc_cli.main import build_parser
from mlc_cli.zoho_connect import pasted_grant
from mlc_core.crypto import KeyRing
from mlc_core.tenants import load_tenant
from mlc_core.zoho.consent import authorization_url
from mlc_core.zoho.oauth import refresh_access_token
from mlc_devtools.devstack import StackConfig

from tests.cli.emulator_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    emulators,
    grant_code,
    mlc,
    zoho_org,
)

pytestmark = pytest.mark.integration
__all__ = ["emulators"]
AGENT_TOKEN = "agent-token-for-cli-tests-5d1e"


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, app_dsn: str, master_keys: str) -> None:
    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", master_keys)
    monkeypatch.setenv("MLC_SAGE_AGENT_TOKEN", AGENT_TOKEN)
    monkeypatch.setenv("MLC_ZOHO_CLIENT_SECRET", CLIENT_SECRET)
    for name in ("MLC_ZOHO_REFRESH_TOKEN", "MLC_SAGE_PASSWORD", "MLC_ZOHO_GRANT_CODE"):
        monkeypatch.delenv(name, raising=False)


async def add_tenant(
    config: StackConfig, tenant_id: str, *, env: pytest.MonkeyPatch | None = None
) -> dict[str, Any]:
    """`mlc tenant add` with a fresh self-client code: as an argument, or in the environment."""
    minted = await zoho_org(config, tenant_id)
    code = ["--zoho-grant-code", minted["code"]]
    if env is not None:
        env.setenv("MLC_ZOHO_GRANT_CODE", minted["code"])
        code = []
    await mlc(
        "tenant", "add", tenant_id, "--sage-company", "ABC",
        "--sage-agent-url", config.sage_url, "--zoho-client-id", CLIENT_ID,
        "--zoho-accounts-url", minted["accounts_server"], *code,
    )  # fmt: skip
    return minted


def output(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


async def test_add_list_show_disable_remove(
    emulators: StackConfig,
    tenant_id: str,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await add_tenant(emulators, tenant_id, env=monkeypatch)
    stored = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    refresh_token = stored.secrets.zoho_refresh_token.get_secret_value()
    capsys.readouterr()

    await mlc("tenant", "show", tenant_id, "--json")
    shown_text = capsys.readouterr().out
    shown = json.loads(shown_text)
    assert shown["config"]["sage"]["company_code"] == "ABC"
    assert set(shown["secrets_set"]) >= {"sage_agent_token", "zoho_refresh_token"}
    for value in (refresh_token, AGENT_TOKEN, CLIENT_SECRET):
        assert value not in shown_text

    await mlc("tenant", "disable", tenant_id)
    capsys.readouterr()
    await mlc("tenant", "list", "--json")
    assert {t["tenant_id"]: t["enabled"] for t in output(capsys)}[tenant_id] is False
    await mlc("tenant", "list")
    [line] = [row for row in capsys.readouterr().out.splitlines() if row.startswith(tenant_id)]
    assert "disabled" in line and "ABC@" in line

    with pytest.raises(SystemExit, match="--yes"):
        await mlc("tenant", "remove", tenant_id)
    assert await app_pool.fetchval("SELECT count(*) FROM tenants WHERE tenant_id=$1", tenant_id)
    await mlc("tenant", "remove", tenant_id, "--yes")
    assert not await app_pool.fetchval("SELECT count(*) FROM tenants WHERE tenant_id=$1", tenant_id)
    with pytest.raises(SystemExit, match="does not exist"):
        await mlc("tenant", "show", tenant_id)


async def test_add_twice_says_it_exists(emulators: StackConfig, tenant_id: str) -> None:
    await add_tenant(emulators, tenant_id)
    with pytest.raises(SystemExit, match=f"{tenant_id}.*already exists"):
        await add_tenant(emulators, tenant_id)


async def test_sage_set_changes_only_what_is_given(
    emulators: StackConfig,
    tenant_id: str,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await add_tenant(emulators, tenant_id)
    monkeypatch.setenv("MLC_SAGE_PASSWORD", "sage-logon-password-77")
    monkeypatch.delenv("MLC_SAGE_AGENT_TOKEN")
    await mlc(
        "sage", "set", tenant_id, "--soap-url", "https://sage.acme.local/ws", "--user", "sync",
        "--time-zone", "America/Chicago", "--entities", "ar_customer,ap_vendor",
        "--cadence", "ap_vendor=3600",
    )  # fmt: skip
    tenant = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    sage = tenant.config.sage
    assert (sage.company_code, sage.agent_url) == ("ABC", emulators.sage_url)  # unchanged
    assert (sage.soap_url, sage.username, sage.time_zone) == (
        "https://sage.acme.local/ws",
        "sync",
        "America/Chicago",
    )
    assert [str(e) for e in tenant.config.entities] == ["ar_customer", "ap_vendor"]
    assert tenant.config.cadences == {"ap_vendor": 3600.0}
    assert sage.invoice_history_months == 12  # the default: the last 12 months
    await mlc("sage", "set", tenant_id, "--invoice-history-months", "24")
    reloaded = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    assert reloaded.config.sage.invoice_history_months == 24
    assert reloaded.config.sage.time_zone == "America/Chicago"  # the rest kept
    with pytest.raises(SystemExit, match="invoice_history_months"):
        await mlc("sage", "set", tenant_id, "--invoice-history-months", "-1")
    assert tenant.secrets.sage_password is not None
    assert tenant.secrets.sage_password.get_secret_value() == "sage-logon-password-77"
    assert tenant.secrets.sage_agent_token.get_secret_value() == AGENT_TOKEN
    raw = await app_pool.fetchval("SELECT secrets FROM tenants WHERE tenant_id=$1", tenant_id)
    assert b"sage-logon-password-77" not in raw


async def test_sage_set_rejects_unknown_zone_and_entity(
    emulators: StackConfig, tenant_id: str
) -> None:
    await add_tenant(emulators, tenant_id)
    with pytest.raises(SystemExit, match="unknown time zone 'Mars/Olympus'"):
        await mlc("sage", "set", tenant_id, "--time-zone", "Mars/Olympus")
    with pytest.raises(SystemExit):  # argparse: invalid entity names the choices
        await mlc("sage", "set", tenant_id, "--entities", "ar_customers")


PIN = "sha256:" + "0f" * 32


async def test_the_agent_fingerprint_is_pinned_by_add_and_sage_set(
    emulators: StackConfig, tenant_id: str, app_pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    minted = await zoho_org(emulators, tenant_id)
    await mlc(
        "tenant", "add", tenant_id, "--sage-company", "ABC",
        "--sage-agent-url", "https://agent.acme.local:8443",
        "--sage-agent-fingerprint", PIN.upper().replace("SHA256:", "sha256:"),
        "--zoho-client-id", CLIENT_ID, "--zoho-accounts-url", minted["accounts_server"],
        "--zoho-grant-code", minted["code"],
    )  # fmt: skip
    tenant = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    assert tenant.config.sage.agent_fingerprint == PIN  # normalized
    with pytest.raises(SystemExit, match=r"pinned agent .* https://"):
        await mlc("sage", "set", tenant_id, "--agent-url", "http://agent.acme.local")
    with pytest.raises(SystemExit, match="32 bytes"):
        await mlc("sage", "set", tenant_id, "--agent-fingerprint", "sha256:0f0f")
    await mlc("sage", "set", tenant_id, "--agent-fingerprint", "")
    tenant = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    assert tenant.config.sage.agent_fingerprint is None


async def test_add_refuses_an_accounts_server_that_is_not_zohos(
    tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLC_ZOHO_REFRESH_TOKEN", "1000.refresh")
    with pytest.raises(SystemExit, match=f"tenant {tenant_id}: Zoho accounts server"):
        await mlc(
            "tenant", "add", tenant_id, "--sage-company", "ABC",
            "--sage-agent-url", "https://agent.acme.local", "--zoho-client-id", CLIENT_ID,
            "--zoho-accounts-url", "https://accounts.evil.example",
        )  # fmt: skip


async def test_zoho_connect_with_a_self_client_code(
    emulators: StackConfig,
    tenant_id: str,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await add_tenant(emulators, tenant_id)
    before = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    async with httpx.AsyncClient(base_url=emulators.zoho_url, timeout=30) as zoho:
        minted = await grant_code(zoho, tenant_id, ["ZohoCRM.modules.ALL"])
    # Pasted as the whole redirect URL, as a user copies it from the browser.
    redirect = f"https://example.com/cb?code={minted['code']}&location=us&accounts-server="
    monkeypatch.setenv("MLC_ZOHO_GRANT_CODE", redirect + minted["accounts_server"])
    await mlc("zoho", "connect", tenant_id, "--self-client")

    after = await load_tenant(app_pool, keyring=keyring, tenant_id=tenant_id)
    new_token = after.secrets.zoho_refresh_token.get_secret_value()
    assert new_token != before.secrets.zoho_refresh_token.get_secret_value()
    assert after.config.zoho.api_domain and after.config.zoho.api_domain.startswith("http")
    async with httpx.AsyncClient(timeout=30) as http:  # the stored token really works
        grant = await refresh_access_token(
            http,
            accounts_url=after.config.zoho.accounts_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=new_token,
        )
    assert grant.api_domain == after.config.zoho.api_domain


async def test_zoho_connect_refuses_a_used_code(
    emulators: StackConfig, tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    minted = await add_tenant(emulators, tenant_id)  # its code is spent now
    monkeypatch.setenv("MLC_ZOHO_GRANT_CODE", minted["code"])
    with pytest.raises(SystemExit, match="invalid_code"):
        await mlc("zoho", "connect", tenant_id, "--self-client")


def test_authorization_url_asks_for_offline_access_and_consent() -> None:
    url = authorization_url(
        dc="eu",
        client_id="1000.X",
        scopes=["ZohoCRM.modules.ALL", "ZohoCRM.org.READ"],
        redirect_uri="https://x/cb",
    )
    assert url.startswith("https://accounts.zoho.eu/oauth/v2/auth?")
    for part in ("access_type=offline", "prompt=consent", "response_type=code", "client_id=1000.X"):
        assert part in url
    assert "ZohoCRM.modules.ALL%2CZohoCRM.org.READ" in url


def test_pasted_code_or_redirect_url() -> None:
    configured = "http://127.0.0.1:1/accounts/eu"
    bare = pasted_grant(" 1000.abc.def ", dc="eu", configured_accounts=configured)
    assert (bare.code, bare.accounts_server) == ("1000.abc.def", configured)
    pasted = pasted_grant(
        "https://x/cb?code=1000.c0de&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu",
        dc="us",
        configured_accounts=configured,
    )
    assert (pasted.code, pasted.accounts_server) == ("1000.c0de", "https://accounts.zoho.eu")


def test_pasted_redirect_to_a_foreign_server_is_refused() -> None:
    with pytest.raises(SystemExit, match="not one of Zoho's data-centre hosts"):
        pasted_grant(
            "code=1000.c&accounts-server=https://evil.example",
            dc="us",
            configured_accounts="https://accounts.zoho.com",
        )


TENANTS_YAML = """
tenants:
  - id: {a}
    name: Alpha
    sage: {{company_code: ABC, agent_url: "https://agent.alpha.local", time_zone: Europe/Paris}}
    zoho: {{dc: eu, client_id: "1000.ALPHA"}}
    entities: [ar_customer]
    cadences: {{ar_customer: 600}}
    secrets:
      sage_agent_token: {{env: MLC_TENANT_{A}_SAGE_AGENT_TOKEN}}
      zoho_client_secret: {{file: {secret_file}}}
      zoho_refresh_token: {{env: MLC_TENANT_{A}_ZOHO_REFRESH_TOKEN}}
  - id: {b}
    enabled: false
    sage: {{company_code: XYZ, agent_url: "https://agent.beta.local"}}
    zoho: {{dc: us, client_id: "1000.BETA"}}
    secrets:
      sage_agent_token: {{env: MLC_TENANT_{B}_SAGE_AGENT_TOKEN}}
      zoho_client_secret: {{env: MLC_TENANT_{B}_ZOHO_CLIENT_SECRET}}
      zoho_refresh_token: {{env: MLC_TENANT_{B}_ZOHO_REFRESH_TOKEN}}
"""


def import_file(tmp_path: Path, a: str, b: str, secret_file: str) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(
        TENANTS_YAML.format(a=a, b=b, A=a.upper(), B=b.upper(), secret_file=secret_file)
    )
    return path


def import_env(monkeypatch: pytest.MonkeyPatch, a: str, b: str, agent: str, refresh: str) -> None:
    for tenant in (a, b):
        monkeypatch.setenv(f"MLC_TENANT_{tenant.upper()}_SAGE_AGENT_TOKEN", agent)
        monkeypatch.setenv(f"MLC_TENANT_{tenant.upper()}_ZOHO_REFRESH_TOKEN", refresh)
    monkeypatch.setenv(f"MLC_TENANT_{b.upper()}_ZOHO_CLIENT_SECRET", agent)


async def test_import_is_declarative_and_idempotent(
    tmp_path: Path,
    tenant_id: str,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = f"{tenant_id}a", f"{tenant_id}b"
    secret_file = tmp_path / "secrets" / "client-secret"
    secret_file.parent.mkdir()
    secret_file.write_text("file-client-secret-123\n")
    secret_file.chmod(0o600)
    path = import_file(tmp_path, a, b, "secrets/client-secret")
    import_env(monkeypatch, a, b, "imported-agent-token", "imported-refresh-token")

    await mlc("tenant", "import", str(path), "--json")
    assert {r["tenant"]: r["action"] for r in output(capsys)} == {a: "created", b: "created"}
    alpha = await load_tenant(app_pool, keyring=keyring, tenant_id=a)
    assert alpha.config.zoho.accounts_url == "https://accounts.zoho.eu"
    assert alpha.secrets.zoho_client_secret.get_secret_value() == "file-client-secret-123"
    assert alpha.config.cadences == {"ar_customer": 600.0}
    assert not (await load_tenant(app_pool, keyring=keyring, tenant_id=b)).enabled

    await mlc("tenant", "import", str(path), "--json")
    assert {r["action"] for r in output(capsys)} == {"unchanged"}

    import_env(monkeypatch, a, b, "imported-agent-token", "rotated-refresh-token")
    await mlc("tenant", "import", str(path), "--json")
    assert {r["tenant"]: r["action"] for r in output(capsys)} == {a: "updated", b: "updated"}
    alpha = await load_tenant(app_pool, keyring=keyring, tenant_id=a)
    assert alpha.secrets.zoho_refresh_token.get_secret_value() == "rotated-refresh-token"


async def test_bad_import_names_tenant_and_field_and_writes_nothing(
    tmp_path: Path, tenant_id: str, app_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = f"{tenant_id}a", f"{tenant_id}b"
    path = import_file(tmp_path, a, b, "absent")
    import_env(monkeypatch, a, b, "x-agent", "x-refresh")
    with pytest.raises(SystemExit, match=f"tenant {a}: secrets.zoho_client_secret: cannot read"):
        await mlc("tenant", "import", str(path))
    path.write_text(path.read_text().replace("ABC", "TOOLONG"))
    with pytest.raises(SystemExit, match=f"tenant {a}: sage.company_code"):
        await mlc("tenant", "import", str(path))
    count = await app_pool.fetchval(
        "SELECT count(*) FROM tenants WHERE tenant_id = ANY($1::text[])", [a, b]
    )
    assert count == 0


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every command path of the parser tree, e.g. ('tenant', 'import')."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))
            return
    yield path


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    paths = list(commands(build_parser()))
    assert {("tenant", "import"), ("sage", "set"), ("zoho", "connect"), ("ping",)} <= set(paths)
    assert ("status",) in paths and ("keys", "rotate") in paths
    for path in paths:
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*path, "--help"])
        assert exited.value.code == 0
        assert "usage: mlc " + " ".join(path) in capsys.readouterr().out


@pytest.mark.parametrize(
    "path",
    [("tenant", "list"), ("tenant", "show"), ("tenant", "import"), ("sage", "set"),
     ("zoho", "connect"), ("ping",), ("status",), ("keys", "rotate")],
)  # fmt: skip
def test_commands_that_print_data_offer_json(path: tuple[str, ...]) -> None:
    parser = build_parser()
    for name in path:
        parser = next(
            a.choices[name] for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        )
    assert any("--json" in a.option_strings for a in parser._actions), path
