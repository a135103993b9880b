"""What the demo hands a second shell: its keys and agent token in files only the user can read,
exports that name the file (never the key), and where each part of the stack listens."""

from __future__ import annotations

import shlex
from pathlib import Path

from mlc_core.crypto import KeyRing
from mlc_devtools.demo_env import closing_lines, demo_secrets, exports, start_lines
from mlc_devtools.devstack import StackConfig

CONFIG = StackConfig(
    kafka_bootstrap="127.0.0.1:19180",
    database_url="postgresql://mlc_app@127.0.0.1:55480/mlc",
    sage_port=18100,
    zoho_port=18200,
    agent_port=18300,
)


def test_the_demo_key_and_token_files_are_private_and_kept(tmp_path: Path) -> None:
    first = demo_secrets(tmp_path, {})
    assert first.keys_file is not None
    for path in (first.keys_file, first.agent_token_file):
        assert path.stat().st_mode & 0o777 == 0o600
    KeyRing.parse(first.master_keys)  # a usable key
    again = demo_secrets(tmp_path, {})
    assert (again.master_keys, again.agent_token) == (first.master_keys, first.agent_token)
    assert first.agent_token != demo_secrets(tmp_path / "other", {}).agent_token


def test_exports_name_the_key_file_and_never_the_key(tmp_path: Path) -> None:
    demo = demo_secrets(tmp_path, {})
    lines = exports(CONFIG, demo)
    assert lines == [
        "export MLC_DATABASE_URL=postgresql://mlc_app@127.0.0.1:55480/mlc",
        "export MLC_KAFKA_BOOTSTRAP=127.0.0.1:19180",
        "export MLC_ZOHO_ALLOWED_HOSTS=127.0.0.1",
        "unset MLC_MASTER_KEYS",
        f"export MLC_MASTER_KEYS_FILE={tmp_path.resolve() / 'demo-master-key'}",
    ]
    printed = "\n".join(start_lines(CONFIG, demo, "mlc") + closing_lines(CONFIG, demo, "mlc"))
    assert demo.master_keys.partition(":")[2] not in printed
    assert demo.agent_token not in printed
    for line in lines:
        shlex.split(line)  # pastes into a shell as it is


def test_keys_given_as_a_file_are_passed_on_as_that_file(tmp_path: Path) -> None:
    mine = tmp_path / "my-keys"
    mine.write_text("k1:" + "A" * 43 + "=\n")
    demo = demo_secrets(tmp_path / "state", {"MLC_MASTER_KEYS_FILE": str(mine)})
    assert demo.keys_file == mine.resolve() and demo.master_keys == "k1:" + "A" * 43 + "="
    assert not (tmp_path / "state" / "demo-master-key").exists()


def test_keys_given_in_the_environment_stay_there(tmp_path: Path) -> None:
    key = "k1:" + "B" * 43 + "="
    demo = demo_secrets(tmp_path, {"MLC_MASTER_KEYS": key})
    assert demo.keys_file is None and demo.master_keys == key
    lines = exports(CONFIG, demo)
    assert not any("MLC_MASTER_KEYS" in line and not line.startswith("#") for line in lines)
    assert key not in "\n".join(start_lines(CONFIG, demo, "mlc"))


def test_start_lines_say_where_each_part_listens(tmp_path: Path) -> None:
    demo = demo_secrets(tmp_path, {})
    text = "\n".join(start_lines(CONFIG, demo, ".venv/bin/mlc"))
    assert "Sage emulator  http://127.0.0.1:18100" in text
    agent = f"Sage agent     http://127.0.0.1:18300  (its token is in {demo.agent_token_file})"
    assert agent in text
    assert "Zoho emulator  http://127.0.0.1:18200" in text
    assert "curl -s -X POST http://127.0.0.1:18200/_emulator/orgs" in text
    assert ".venv/bin/mlc status" in text


def test_the_console_sign_in_is_a_private_file_and_never_printed(tmp_path: Path) -> None:
    demo = demo_secrets(tmp_path, {})
    assert demo.console_password_file.stat().st_mode & 0o777 == 0o600
    assert demo_secrets(tmp_path, {}).console_password == demo.console_password  # kept
    printed = "\n".join(start_lines(CONFIG, demo, "mlc"))
    assert f"{CONFIG.console_url}/" in printed and str(demo.console_password_file) in printed
    assert demo.console_password not in printed
