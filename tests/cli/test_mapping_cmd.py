"""`mlc mapping …` and the `zoho setup` parser: the operator's side of mapping files."""

from __future__ import annotations

import argparse
from pathlib import Path

import asyncpg
import pytest
from mapper.admin import load_stored
from mlc_cli import mapping_cmd, zoho_cmd
from mlc_core.crypto import KeyRing
from mlc_core.tenants import add_tenant

from tests.services.mapper import rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlc")
    verbs = parser.add_subparsers(dest="verb", required=True)
    mapping_cmd.register(verbs)
    zoho_cmd.register(verbs)
    return parser


async def _call(*argv: str) -> None:
    args = _parser().parse_args(list(argv))
    await args.handler(args)


def test_zoho_setup_is_a_sub_command_of_zoho() -> None:
    args = _parser().parse_args(["zoho", "setup", "acme", "--dry-run"])
    assert args.tenant_id == "acme" and args.dry_run and callable(args.handler)


async def test_check_names_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("entities:\n  ar_customer:\n    skip: [Fax]\n")
    bad.write_text("entities:\n  ar_customer:\n    skip: [Fax]\n    rename: {Website: 1x}\n")
    await _call("mapping", "check", str(good))
    assert "valid" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"line 4: entities\.ar_customer\.rename\.Website"):
        await _call("mapping", "check", str(bad))
    with pytest.raises(SystemExit, match="cannot read"):
        await _call("mapping", "check", str(tmp_path / "missing.yaml"))


@pytest.mark.integration
async def test_set_show_remove_on_the_database(
    tmp_path: Path,
    app_pool: asyncpg.Pool,
    app_dsn: str,
    master_keys: str,
    tenant_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLC_DATABASE_URL", app_dsn)
    monkeypatch.setenv("MLC_MASTER_KEYS", master_keys)
    await add_tenant(app_pool, keyring=KeyRing.parse(master_keys), tenant=rows.tenant(tenant_id))
    text = "entities:\n  ar_customer:\n    skip: [Fax]\n"
    (tmp_path / "map.yaml").write_text(text)
    await _call("mapping", "set", tenant_id, str(tmp_path / "map.yaml"))
    assert "revision 1" in capsys.readouterr().out
    stored = await load_stored(app_pool, tenant_id)
    assert stored is not None and stored.source_yaml == text
    await _call("mapping", "show", tenant_id)
    assert text in capsys.readouterr().out
    with pytest.raises(SystemExit, match="does not exist"):
        await _call("mapping", "set", "no-such-tenant", str(tmp_path / "map.yaml"))
    await _call("mapping", "remove", tenant_id)
    assert await load_stored(app_pool, tenant_id) is None
