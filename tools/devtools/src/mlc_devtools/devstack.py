"""The local stack as separate processes: emulators and the four services.

Used by `mlc-dev demo`, bench, chaos and the end-to-end tests, so all of them run exactly what a
user runs: the console scripts, configured only through environment variables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = ("mlc-sage-poller", "mlc-mapper", "mlc-zoho-writer", "mlc-audit")


def script(name: str) -> str:
    """A console script of this environment (next to the running interpreter)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def program(name: str) -> str:
    """The console script behind a process name: replicas are named "mlc-zoho-writer#2"."""
    return name.partition("#")[0]


def replica_names(name: str, count: int) -> list[str]:
    """The first replica keeps the plain name, so logs and tests that know it still work."""
    return [name] + [f"{name}#{i}" for i in range(2, count + 1)]


@dataclass
class StackConfig:
    kafka_bootstrap: str = "127.0.0.1:19092"
    database_url: str = "postgresql://mlc_app@127.0.0.1:55432/mlc"
    master_keys: str = ""
    sage_port: int = 18100
    zoho_port: int = 18200
    agent_port: int = 18300
    console_port: int = 18400
    console_password_hash: str = ""  # MLC_CONSOLE_ADMIN_PASSWORD_HASH: none, nobody signs in
    sage_agent_token: str = "dev-agent-token"  # noqa: S105 - the emulator's dev default
    poll_interval_seconds: float = 2.0
    zoho_token_ttl_seconds: int = 3600
    log_dir: Path = Path(".local/logs")
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def sage_url(self) -> str:
        return f"http://127.0.0.1:{self.sage_port}"

    @property
    def agent_url(self) -> str:
        """The on-premises agent (mlc-sage-agent) in front of the emulator's BOI stand-in."""
        return f"http://127.0.0.1:{self.agent_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def zoho_url(self) -> str:
        return f"http://127.0.0.1:{self.zoho_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            MLC_KAFKA_BOOTSTRAP=self.kafka_bootstrap,
            MLC_DATABASE_URL=self.database_url,
            MLC_MASTER_KEYS=self.master_keys,
            MLC_POLL_INTERVAL_SECONDS=str(self.poll_interval_seconds),
            MLC_POLL_OVERLAP_SECONDS="5",
            MLC_KAFKA_AUTO_CREATE_TOPICS="true",  # production provisions: mlc kafka topics
            MLC_ZOHO_ALLOWED_HOSTS="127.0.0.1",  # the Zoho emulator, besides Zoho's own hosts
            # Key reconciliation (deletes, renumbering, stamp-less imports) every few seconds
            # here, so they show up in a demo or test; hourly by default.
            MLC_RECONCILE_INTERVAL_SECONDS="10",
            MLC_TENANT_REFRESH_SECONDS="2",
            MLC_SAGE_AGENT_TOKEN=self.sage_agent_token,
            MLC_AGENT_TOKEN=self.sage_agent_token,
            MLC_AGENT_COMPANIES="*",  # the dev stack's tenants use many company codes
            MLC_AGENT_PLAIN_HTTP="true",
            MLC_AGENT_BOI="emulator",
            MLC_AGENT_EMULATOR_URL=self.sage_url,
            MLC_AGENT_HOST="127.0.0.1",
            MLC_AGENT_PORT=str(self.agent_port),
            MLC_AGENT_SAGE_USER="MLCAGENT",
            MLC_AGENT_SAGE_PASSWORD="sage100",  # noqa: S106 - the emulator's BOI logon
            MLC_CONSOLE_PORT=str(self.console_port),
            MLC_CONSOLE_ADMIN_PASSWORD_HASH=self.console_password_hash,
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def args(self, name: str) -> list[str]:
        name = program(name)
        if name == "mlc-sage-emulator":
            return ["--port", str(self.sage_port), "--agent-token", self.sage_agent_token]
        if name == "mlc-zoho-emulator":
            return ["--port", str(self.zoho_port), "--token-ttl", str(self.zoho_token_ttl_seconds)]
        return []


class DevStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        config.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str) -> None:
        if name in self.procs and self.procs[name].poll() is None:
            return
        log = (self.config.log_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(  # noqa: S603 - our own console scripts
            [script(program(name)), *self.config.args(name)],
            env=self.config.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def start_emulators(self) -> None:
        self.start("mlc-zoho-emulator")  # starts while the Sage side comes up
        self.start_sage_side()
        wait_http(f"{self.config.zoho_url}/_emulator/health")

    def start_sage_side(self) -> None:
        """The Sage side as a customer runs it: a Sage emulator (the pvxcom stand-in) and the
        agent that reaches it through BOI; tenants point at the agent. Alone, it is another
        customer's own Sage server, so its big tables do not hold other companies' calls."""
        self.start("mlc-sage-emulator")
        wait_http(f"{self.config.sage_url}/v1/health")
        self.start("mlc-sage-agent")
        wait_http(f"{self.config.agent_url}/v1/health")

    def start_services(self, replicas: Mapping[str, int] | None = None) -> None:
        """Each service once, or `replicas[name]` times (same consumer group, shared work)."""
        for name in SERVICES:
            for instance in replica_names(name, (replicas or {}).get(name, 1)):
                self.start(instance)

    def start_console(self) -> None:
        """The operator console (mlc-console), once it answers."""
        self.start("mlc-console")
        wait_http(f"{self.config.console_url}/healthz")

    def stop(self, name: str, *, kill: bool = False) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.config.log_dir / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")
        time.sleep(0.2)
