"""How to reach the demo's stack from another shell.

The demo prints the exports `mlc` needs (the master keys as a file written with mode 0600, so
the key itself is never on screen), where the emulators and the agent listen, which file holds
the agent's token, and how to create a second emulated Zoho org (docs/demo.md has every step).
"""

from __future__ import annotations

import os
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlc_core.crypto import generate_key_text

from mlc_devtools.devstack import StackConfig

KEYS_FILE = "demo-master-key"
AGENT_TOKEN_FILE = "demo-agent-token"  # noqa: S105 - a file name, not a token
CONSOLE_PASSWORD_FILE = "demo-console-password"  # noqa: S105 - a file name, not a password
SECOND_ORG = '{"org_id": "acme", "dc": "us", "edition": "enterprise"}'


def private_file(path: Path, make: Callable[[], str]) -> Path:
    """The file at `path`, created with mode 0600 from the start (never readable by others,
    not even between its creation and a chmod) when it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(make() + "\n")
    return path.resolve()


@dataclass(frozen=True)
class DemoSecrets:
    """The demo's keys and agent token; `keys_file` is None when the keys came from
    MLC_MASTER_KEYS (then the user's own shell has them already)."""

    master_keys: str
    keys_file: Path | None
    agent_token: str
    agent_token_file: Path
    console_password: str  # the console's admin password; the console gets only its hash
    console_password_file: Path


def demo_secrets(state: Path, environ: Mapping[str, str]) -> DemoSecrets:
    """Keys from MLC_MASTER_KEYS or MLC_MASTER_KEYS_FILE if set, else the demo's own key file,
    kept across runs so a restarted demo still reads its tenant's secrets; a random agent
    token, also kept in a file (a second tenant's `mlc tenant add` needs it)."""
    token_file = private_file(state / AGENT_TOKEN_FILE, lambda: secrets.token_urlsafe(24))
    token = token_file.read_text().strip()
    console_file = private_file(state / CONSOLE_PASSWORD_FILE, lambda: secrets.token_urlsafe(18))
    console = (console_file.read_text().strip(), console_file)
    if environ.get("MLC_MASTER_KEYS"):
        return DemoSecrets(environ["MLC_MASTER_KEYS"], None, token, token_file, *console)
    given = environ.get("MLC_MASTER_KEYS_FILE")
    keys_file = Path(given).resolve() if given else None
    if keys_file is None:
        keys_file = private_file(state / KEYS_FILE, lambda: generate_key_text("demo"))
    return DemoSecrets(keys_file.read_text().strip(), keys_file, token, token_file, *console)


def exports(config: StackConfig, demo: DemoSecrets) -> list[str]:
    """Shell lines that point `mlc` at the demo's PostgreSQL, keys and Kafka."""
    lines = [
        f"export MLC_DATABASE_URL={shlex.quote(config.database_url)}",
        f"export MLC_KAFKA_BOOTSTRAP={shlex.quote(config.kafka_bootstrap)}",
        "export MLC_ZOHO_ALLOWED_HOSTS=127.0.0.1",
    ]
    if demo.keys_file is None:
        return [*lines, "# MLC_MASTER_KEYS: keep the one this demo was started with"]
    # MLC_MASTER_KEYS wins over the file: a key left in the shell would not open the demo's.
    return [*lines, "unset MLC_MASTER_KEYS", f"export MLC_MASTER_KEYS_FILE={demo.keys_file}"]


def start_lines(config: StackConfig, demo: DemoSecrets, mlc: str) -> list[str]:
    """Printed once the stack is up: how to use `mlc` on it, and where everything listens."""
    zoho = config.zoho_url
    return [
        "to run `mlc` against this demo, in another shell (from the repository root):",
        *(f"  {line}" for line in exports(config, demo)),
        f"  {mlc} status",
        "where the demo's parts listen:",
        f"  Sage emulator  {config.sage_url}  (control API {config.sage_url}/_emulator,"
        " docs/sage.md)",
        f"  Sage agent     {config.agent_url}  (its token is in {demo.agent_token_file})",
        f"  Zoho emulator  {zoho}  (control API {zoho}/_emulator, docs/zoho.md)",
        *console_lines(config, demo),
        "a second tenant beside the demo (every step in docs/demo.md) starts with its Zoho org:",
        f"  curl -s -X POST {zoho}/_emulator/orgs -H 'Content-Type: application/json'"
        f" -d '{SECOND_ORG}'",
    ]


def closing_lines(config: StackConfig, demo: DemoSecrets, mlc: str) -> list[str]:
    """Printed with the summary: Kafka and PostgreSQL stay up, so `mlc` still works."""
    return [
        "to run `mlc` against what this demo left in PostgreSQL and Kafka:",
        *(f"  {line}" for line in exports(config, demo)),
        f"  {mlc} status",
    ]


def console_lines(config: StackConfig, demo: DemoSecrets) -> list[str]:
    """The console's address and sign-in; the password stays in its 0600 file, off the screen
    and out of logs, like the agent token."""
    return [
        f"  Console        {config.console_url}/  (sign in as admin; the password is in"
        f" {demo.console_password_file})",
    ]
