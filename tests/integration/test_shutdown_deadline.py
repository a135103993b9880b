"""Every service exits within 10 s of SIGTERM, whatever state Kafka is in (issue 14).

Each service runs as its own process against the real PostgreSQL and a Kafka that accepts
connections but never answers (a listening socket nobody reads: a broker hung or cut off
mid-way). Before, the poller, mapper, writer and audit sat in their Kafka calls for minutes
after SIGTERM (the topic check waits up to 300 s for a broker). The agent, with a page request
stuck on a Sage that never answers, waited for it without limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from mlc_devtools.devstack import script, wait_http

from tests.e2e.conftest import free_port

DEADLINE_S = 10.0
SERVICES = ["mlc-sage-poller", "mlc-mapper", "mlc-zoho-writer", "mlc-audit"]


@pytest.fixture
def hung_kafka() -> Iterator[str]:
    """A port that completes TCP handshakes (the kernel's backlog) and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_exits_within_10_s_of_sigterm_while_kafka_hangs(
    service: str, hung_kafka: str, app_dsn: str, master_keys: str
) -> None:
    env = dict(
        os.environ,
        MLC_KAFKA_BOOTSTRAP=hung_kafka,
        MLC_DATABASE_URL=app_dsn,
        MLC_MASTER_KEYS=master_keys,
        MLC_KAFKA_AUTO_CREATE_TOPICS="true",
        MLC_LOG_LEVEL="WARNING",
    )
    env.pop("MLC_HEALTH_PORT", None)
    process = subprocess.Popen(
        [script(service)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(5.0)  # past the dependency check, into its first Kafka call
        assert process.poll() is None, "the service ended before SIGTERM"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{service} still running 30 s after SIGTERM")
        took = time.monotonic() - sent
        assert took < DEADLINE_S, f"{service} took {took:.1f} s to exit after SIGTERM"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_the_agent_exits_within_10_s_of_sigterm_with_a_request_stuck_in_sage(
    hung_kafka: str,
) -> None:
    """The agent's Sage (its BOI face) accepts the connection and never answers; a poller's
    page request is in flight when SIGTERM comes."""
    port = free_port()
    env = dict(
        os.environ,
        MLC_AGENT_TOKEN="t" * 32,
        MLC_AGENT_COMPANIES="*",
        MLC_AGENT_PLAIN_HTTP="true",
        MLC_AGENT_BOI="emulator",
        MLC_AGENT_EMULATOR_URL=f"http://{hung_kafka}",  # the same mute socket
        MLC_AGENT_HOST="127.0.0.1",
        MLC_AGENT_PORT=str(port),
        MLC_AGENT_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [script("mlc-sage-agent")], env=env, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/health")
        url = f"http://127.0.0.1:{port}/v1/companies/ABC/ar_customers/changes"
        stuck = threading.Thread(target=_get, args=(url,), daemon=True)
        stuck.start()
        time.sleep(1.5)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the agent still runs 30 s after SIGTERM")
        took = time.monotonic() - sent
        assert took < DEADLINE_S, f"the agent took {took:.1f} s to exit after SIGTERM"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _get(url: str) -> None:
    with contextlib.suppress(Exception):
        httpx.get(url, headers={"Authorization": "Bearer " + "t" * 32}, timeout=60)
