"""The agent's wheel installs alone and runs: what a customer does on the Sage server.

Build the mlc-sage-agent wheel, install only it into a fresh venv (its dependencies from PyPI;
nothing of this repository), make its certificate with `mlc-sage-agent-tls`, start its
`mlc-sage-agent` entry point (HTTPS, reached through the connector's fingerprint pin) against
the Sage emulator's BOI stand-in (the backend there is on Linux; the emulator runs from the
workspace, as pvxcom.exe would run beside the agent), and read through it. Integration: it
needs PyPI.
"""

from __future__ import annotations

import os
import shutil
import site
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from mlc_core.sage.agent import pinned_tls

from tests.services.sage_agent.servers import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
TOKEN = "wheel-test-token"
# Connector-side packages the agent must not pull in (the emulator; no 32-bit Windows wheels).
FORBIDDEN = {"mlc-core", "mlc-sage100-emulator", "psutil", "cryptography", "aiokafka", "asyncpg"}


def _uv() -> str:
    found = shutil.which("uv") or str(Path(site.getuserbase(), "bin", "uv"))
    if not Path(found).is_file():
        pytest.fail("uv is needed to build the wheel (deploy/local/setup.sh installs it)")
    return found


def _run(*args: str | Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_up(
    url: str, proc: subprocess.Popen[bytes], log: Path, verify: ssl.SSLContext | bool = True
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url} exited {proc.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=2, verify=verify)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer in 30 s:\n{log.read_text()}")


def test_agent_wheel_installs_alone_and_serves(tmp_path: Path) -> None:
    _run(_uv(), "build", "--wheel", "--package", "mlc-sage-agent", "-o", tmp_path / "dist")
    (wheel,) = (tmp_path / "dist").glob("mlc_sage_agent-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    _run(*pip, "install", "--quiet", f"{wheel}[emulator]")

    listed = _run(*pip, "list", "--format=freeze").splitlines()
    installed = {line.split("==")[0].lower() for line in listed}
    assert "mlc-sage-agent" in installed and not installed & FORBIDDEN, installed
    probe = "import sage_agent.main, mlc_core.entities.sage; import sage100_emulator"
    python = venv / "bin" / "python"
    refused = subprocess.run([python, "-c", probe], capture_output=True, timeout=60, check=False)
    assert b"No module named 'sage100_emulator'" in refused.stderr, refused.stderr

    made = _run(venv / "bin/mlc-sage-agent-tls", "--name", "127.0.0.1", "--dir", tmp_path / "tls")
    pin = made.rsplit("sha256:", 1)[1].strip()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    emulator_port, agent_port = free_port(), free_port()
    emulator = [str(ROOT / ".venv/bin/mlc-sage-emulator"), "--port", str(emulator_port)]
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    agent_env = base_env | {
        "MLC_AGENT_TOKEN": TOKEN,
        "MLC_AGENT_COMPANIES": "ABC",
        "MLC_AGENT_HOST": "127.0.0.1",
        "MLC_AGENT_PORT": str(agent_port),
        "MLC_AGENT_BOI": "emulator",
        "MLC_AGENT_EMULATOR_URL": emulator_url,
        "MLC_AGENT_SAGE_USER": "MLCAGENT",
        "MLC_AGENT_SAGE_PASSWORD": "sage100",
        "MLC_AGENT_TLS_CERT": str(tmp_path / "tls/agent.pem"),
        "MLC_AGENT_TLS_KEY": str(tmp_path / "tls/agent.key"),
    }
    agent_url, tls = f"https://127.0.0.1:{agent_port}", pinned_tls(pin)
    with (
        _process([*emulator, "--seed-count", "25"], base_env, tmp_path / "emulator.log") as emu,
        _process([str(venv / "bin/mlc-sage-agent")], agent_env, tmp_path / "agent.log") as agent,
    ):
        _wait_up(f"{emulator_url}/v1/health", emu, tmp_path / "emulator.log")
        _wait_up(f"{agent_url}/v1/health", agent, tmp_path / "agent.log", verify=tls)
        with httpx.Client(verify=tls, timeout=60) as client:  # TLS, trusted by the pin only
            assert client.get(f"{agent_url}/v1/health").json() == {"status": "ok"}
            changes = f"{agent_url}/v1/companies/ABC/ar_customers/changes"
            assert client.get(changes).status_code == 401
            headers = {"Authorization": f"Bearer {TOKEN}"}
            page = client.get(changes, headers=headers, params={"limit": 10})
            assert page.status_code == 200, page.text
            assert len(page.json()["records"]) == 10 and page.json()["next_cursor"]
            other = client.get(changes.replace("/ABC/", "/XYZ/"), headers=headers)
            assert other.status_code == 403 and other.json()["error"] == "company_not_allowed"
    blank = subprocess.run(
        [venv / "bin/mlc-sage-agent"],
        env=agent_env | {"MLC_AGENT_TOKEN": " "},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert blank.returncode != 0 and b"MLC_AGENT_TOKEN is empty" in blank.stderr
