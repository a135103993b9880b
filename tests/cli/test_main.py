from __future__ import annotations

import pytest
from mlc_cli.main import build_parser, run
from mlc_core.crypto import KeyRing


def test_every_verb_has_a_handler() -> None:
    parser = build_parser()
    for argv in (["db", "migrate"], ["keys", "generate"], ["tenant", "list"]):
        assert callable(parser.parse_args(argv).handler), argv


def test_keys_generate_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    run(["keys", "generate", "--kid", "k9"])
    ring = KeyRing.parse(capsys.readouterr().out.strip())
    assert ring.active_key_id == "k9"


def test_migrate_without_admin_url_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_DATABASE_ADMIN_URL", raising=False)
    with pytest.raises(SystemExit, match="MLC_DATABASE_ADMIN_URL"):
        run(["db", "migrate"])


def test_tenant_add_refuses_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MLC_SAGE_AGENT_TOKEN", "MLC_ZOHO_CLIENT_SECRET", "MLC_ZOHO_REFRESH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLC_MASTER_KEYS", "k1:" + "A" * 43 + "=")
    with pytest.raises(SystemExit, match="MLC_ZOHO_CLIENT_SECRET"):
        run(
            [
                "tenant",
                "add",
                "acme",
                "--sage-company",
                "ABC",
                "--sage-agent-url",
                "https://a",
                "--zoho-client-id",
                "1000.X",
            ]
        )
