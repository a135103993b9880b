"""Tenant import reads secrets only from the documented places and never points a tenant's
secrets at a host it may not send them to (unit: the entries, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlc_ops.tenant_file import TenantFileError, desired, env_name, parse_file

ENTRY = """
tenants:
  - id: acme-1
    sage: {{company_code: ABC, agent_url: "{agent}"}}
    zoho: {{dc: eu, client_id: "1000.A"{zoho}}}
    secrets:
      sage_agent_token: {agent_token}
      zoho_client_secret: {{file: {secret_file}}}
      zoho_refresh_token: {{env: MLC_TENANT_ACME_1_ZOHO_REFRESH_TOKEN}}
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_TENANT_ACME_1_SAGE_AGENT_TOKEN", "agent-token")
    monkeypatch.setenv("MLC_TENANT_ACME_1_ZOHO_REFRESH_TOKEN", "refresh")
    monkeypatch.setenv("HOME_SECRET", "not-for-import")


def entry_file(tmp_path: Path, **fields: str) -> Path:
    values = {
        "agent": "https://agent.acme.local:8443",
        "zoho": "",
        "agent_token": "{env: MLC_TENANT_ACME_1_SAGE_AGENT_TOKEN}",
        "secret_file": "secrets/zoho",
    } | fields
    (tmp_path / "secrets").mkdir(exist_ok=True)
    secret = tmp_path / "secrets" / "zoho"
    secret.write_text("client-secret\n")
    secret.chmod(0o600)
    path = tmp_path / "tenants.yaml"
    path.write_text(ENTRY.format(**values))
    return path


def imported(path: Path) -> None:
    desired(parse_file(path)[0], None)


def test_the_documented_places_are_read(tmp_path: Path, env: None) -> None:
    tenant = desired(parse_file(entry_file(tmp_path))[0], None)
    assert tenant.secrets.plain() == {
        "sage_agent_token": "agent-token",
        "zoho_client_secret": "client-secret",
        "zoho_refresh_token": "refresh",
    }
    assert env_name("acme-1", "sage_agent_token") == "MLC_TENANT_ACME_1_SAGE_AGENT_TOKEN"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"agent_token": "{env: HOME_SECRET}"}, "env must be MLC_TENANT_ACME_1_SAGE_AGENT_TOKEN"),
        ({"secret_file": "/etc/hostname"}, "not under the import file's directory"),
        ({"secret_file": "../outside"}, "not under the import file's directory"),
        ({"agent": "http://agent.acme.local"}, "must be https://"),
        ({"zoho": ', accounts_url: "https://accounts.evil.example"'}, "not one of Zoho's"),
        ({"zoho": ', api_domain: "https://api.evil.example"'}, "not one of Zoho's"),
    ],
)
def test_anything_else_is_refused_naming_the_tenant(
    tmp_path: Path, env: None, fields: dict[str, str], why: str
) -> None:
    with pytest.raises(TenantFileError, match=why) as refused:
        imported(entry_file(tmp_path, **fields))
    assert "acme-1" in str(refused.value)


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path, env: None) -> None:
    path = entry_file(tmp_path)
    (tmp_path / "secrets" / "zoho").chmod(0o644)
    with pytest.raises(TenantFileError, match="readable by others"):
        imported(path)


def test_a_stored_secret_is_not_sent_to_a_new_place(tmp_path: Path, env: None) -> None:
    current = desired(parse_file(entry_file(tmp_path))[0], None)
    moved = entry_file(tmp_path, agent="https://elsewhere.example", agent_token="null")
    text = moved.read_text().replace("      sage_agent_token: null\n", "")
    moved.write_text(text)
    with pytest.raises(TenantFileError, match=r"agent_url changes, so secrets\.sage_agent_token"):
        desired(parse_file(moved)[0], current)
    same_place = entry_file(tmp_path, agent_token="null")
    same_place.write_text(same_place.read_text().replace("      sage_agent_token: null\n", ""))
    kept = desired(parse_file(same_place)[0], current)
    assert kept.secrets.sage_agent_token.get_secret_value() == "agent-token"
