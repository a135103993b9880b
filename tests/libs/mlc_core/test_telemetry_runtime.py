"""run_service starts the health probes: a real process, on the real Kafka and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.integration

SERVICE = """
import asyncio
from mlc_core.runtime import run_service
from mlc_core.settings import CommonSettings

async def serve(stop: asyncio.Event) -> None:
    await stop.wait()

run_service("probe-test", CommonSettings(), serve)
"""


def start(port: int, database_url: str, kafka: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MLC_HEALTH_PORT=str(port), MLC_DATABASE_URL=database_url)
    env["MLC_KAFKA_BOOTSTRAP"] = kafka
    return subprocess.Popen([sys.executable, "-c", SERVICE], env=env, stderr=subprocess.PIPE)


def get(url: str, proc: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


def test_ready_when_kafka_and_postgres_answer(app_dsn: str, kafka_bootstrap: str) -> None:
    port = free_port()
    proc = start(port, app_dsn, kafka_bootstrap)
    try:
        assert get(f"http://127.0.0.1:{port}/healthz", proc).status_code == 200
        ready = get(f"http://127.0.0.1:{port}/readyz", proc)
        assert ready.status_code == 200, ready.text
    finally:
        assert stop(proc) == 0


def test_not_ready_names_what_is_down(app_dsn: str, kafka_bootstrap: str) -> None:
    port = free_port()
    dead_db = app_dsn.replace(app_dsn.rsplit("@", 1)[1].split("/")[0], f"127.0.0.1:{free_port()}")
    proc = start(port, dead_db, kafka_bootstrap)
    try:
        assert get(f"http://127.0.0.1:{port}/healthz", proc).status_code == 200
        answer = get(f"http://127.0.0.1:{port}/readyz", proc)
        assert answer.status_code == 503
        assert set(answer.json()["failed"]) == {"postgres"}
    finally:
        assert stop(proc) == 0
