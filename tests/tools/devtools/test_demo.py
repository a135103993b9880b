"""`mlc-dev demo` as a user runs it, briefly and without a terminal: a small generated company
loads through the real stack (emulators, agent, the four services, Kafka, PostgreSQL), the plain
view and the summary show written records for every entity, and the commands it prints (the
exports `mlc` needs, the trail command) work as printed.

The demo's services join the same consumer groups as tests/e2e's stack, so this module must not
run while that stack is up; tests/conftest.py runs tests/e2e last.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from mlc_core.contracts import Entity
from mlc_devtools.devstack import script

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def free_port_base() -> int:
    """A port p with p, p+100 and p+200 free (Sage emulator, Zoho emulator, agent)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + 200 < 65536 and all(_free(base + step) for step in (100, 200)):
            return base
    raise RuntimeError("no free port base")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def demo_run(
    admin_dsn: str,
    app_dsn: str,
    master_keys: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.CompletedProcess[str], dict[str, str]]]:
    tenant = f"demo{uuid.uuid4().hex[:6]}"
    state = tmp_path_factory.mktemp("demo-state")
    # The session's keys as a file: the demo must hand `mlc` the file, never the key.
    keys_file = state / "session-keys"
    keys_file.write_text(master_keys)
    env = dict(os.environ)
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    env.pop("MLC_MASTER_KEYS", None)
    env.pop("MLC_ZOHO_ALLOWED_HOSTS", None)  # a user's shell: the demo allows its emulator itself
    env.update(
        MLC_DATABASE_ADMIN_URL=admin_dsn,
        MLC_DATABASE_URL=app_dsn,
        MLC_MASTER_KEYS_FILE=str(keys_file),
        MLC_KAFKA_BOOTSTRAP=kafka_bootstrap,
        MLC_STATE_DIR=str(state),
    )
    argv = [script("mlc-dev"), "demo", "--customers", "30", "--seed", "5", "--tenant", tenant]
    argv += ["--duration", "12", "--changes-every", "4", "--changes", "3", "--interval", "1"]
    argv += ["--port-base", str(free_port_base())]
    run = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=800, stdin=subprocess.DEVNULL
    )
    yield tenant, run, env
    # Later e2e services share this database: they must not poll a tenant whose emulators are gone.
    subprocess.run(
        [script("mlc"), "tenant", "disable", tenant], env=env, capture_output=True, check=False
    )


def test_plain_view_and_summary_show_every_entity_written(
    demo_run: tuple[str, subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    tenant, run, _ = demo_run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "\x1b[" not in out  # not a terminal: plain lines, no cursor movement
    assert "initial load: " in out and "initial load done in" in out
    view, summary = out.split("summary for tenant " + tenant)
    for entity in Entity:
        last_view = re.findall(
            rf"^  {entity}\s+polled=\d+\s+mapped=\d+\s+written=(\d+)", view, re.M
        )
        assert last_view and int(last_view[-1]) > 0, f"{entity} never written in the view"
        row = re.search(rf"^{entity}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", summary, re.M)
        assert row is not None and int(row[3]) > 0, f"{entity} not written in the summary"
    assert "failures by reason:\n  none" in summary
    assert re.search(
        r"its trace [0-9a-f]{32}: \d+ spans across audit, mapper, sage-poller, ", summary
    )


def test_the_printed_trail_command_works(
    demo_run: tuple[str, subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    tenant, run, env = demo_run
    found = re.search(r"MLC_DATABASE_URL=(\S+) (\S+) (audit trail .+)$", run.stdout, re.M)
    assert found is not None, run.stdout[-2000:]
    dsn, mlc, arguments = found.groups()
    assert dsn == env["MLC_DATABASE_URL"]
    trail = subprocess.run(
        [mlc, *arguments.split()],
        env={**env, "MLC_DATABASE_URL": dsn},
        capture_output=True,
        text=True,
        check=False,
    )
    assert trail.returncode == 0, trail.stderr
    key = arguments.split()[-1]
    zoho_id = re.search(rf"ar_customer {key} \(Zoho id (\d+)\)", run.stdout)
    assert zoho_id is not None
    assert f"tenant {tenant}, ar_customer {key}" in trail.stdout
    assert f"Zoho id {zoho_id[1]}" in trail.stdout
    assert re.search(rf"written .* ok, id {zoho_id[1]}", trail.stdout)


async def test_a_second_demo_on_the_same_database_refuses(
    demo_run: tuple[str, subprocess.CompletedProcess[str], dict[str, str]], app_pool: asyncpg.Pool
) -> None:
    tenant, _, env = demo_run
    assert await app_pool.fetchval("SELECT count(*) FROM tenants WHERE tenant_id = $1", tenant)
    again = await asyncio.to_thread(
        subprocess.run,
        [script("mlc-dev"), "demo", "--tenant", tenant, "--port-base", str(free_port_base())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode != 0
    assert f"tenant {tenant!r} exists from an earlier demo" in again.stdout + again.stderr


def printed_exports(out: str, heading: str) -> dict[str, str | None]:
    """The export and unset lines printed under `heading`, as a user would paste them."""
    block = out.split(heading, 1)[1].splitlines()[1:]
    env: dict[str, str | None] = {}
    for line in block:
        words = shlex.split(line)
        if words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            env[name] = value
        elif words[:1] == ["unset"]:
            env[words[1]] = None
        else:
            break
    return env


def test_the_printed_exports_run_mlc_status(
    demo_run: tuple[str, subprocess.CompletedProcess[str], dict[str, str]], master_keys: str
) -> None:
    tenant, run, env = demo_run
    out = run.stdout
    for heading in ("to run `mlc` against this demo", "to run `mlc` against what this demo left"):
        exports = printed_exports(out, heading)
        assert exports["MLC_MASTER_KEYS"] is None  # unset: a key in the shell would win
        assert exports["MLC_MASTER_KEYS_FILE"] == env["MLC_MASTER_KEYS_FILE"]
        assert exports["MLC_DATABASE_URL"] == env["MLC_DATABASE_URL"]
        assert exports["MLC_KAFKA_BOOTSTRAP"] == env["MLC_KAFKA_BOOTSTRAP"]
        # Nothing else from the test's environment: only PATH and the printed exports.
        only = {"PATH": os.environ["PATH"]} | {k: v for k, v in exports.items() if v is not None}
        status = subprocess.run(
            [script("mlc"), "status", "--json"], env=only, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stderr
        assert tenant in status.stdout
    for key in master_keys.split(","):
        assert key.partition(":")[2] not in out  # the key itself never on screen


def test_it_says_where_the_emulators_and_the_agent_listen(
    demo_run: tuple[str, subprocess.CompletedProcess[str], dict[str, str]],
) -> None:
    _, run, env = demo_run
    token_file = Path(env["MLC_STATE_DIR"]) / "demo-agent-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.read_text().strip() not in run.stdout
    agent = re.search(r"^  Sage agent +(http://\S+) +\(its token is in (\S+)\)$", run.stdout, re.M)
    assert agent is not None and Path(agent[2]) == token_file.resolve()
    sage = re.search(r"^  Sage emulator +(http://\S+) ", run.stdout, re.M)
    zoho = re.search(r"^  Zoho emulator +(http://\S+) ", run.stdout, re.M)
    assert sage is not None and zoho is not None
    org = re.search(rf"curl -s -X POST {zoho[1]}/_emulator/orgs .* -d '(.+)'$", run.stdout, re.M)
    assert org is not None and json.loads(org[1])["org_id"]
