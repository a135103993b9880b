"""A service waits for Kafka and PostgreSQL before it starts (found by `make chaos`: a service
restarted while either was restarting exited at its first connection and, without an
orchestrator, stayed down); past the deadline it goes ahead, and a stop ends the wait."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
from mlc_core.runtime import wait_for_dependencies
from mlc_core.settings import CommonSettings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable() -> CommonSettings:
    return CommonSettings(
        kafka_bootstrap=f"127.0.0.1:{closed_port()}",
        database_url=f"postgresql://mlc_app@127.0.0.1:{closed_port()}/mlc",
    )


async def test_waits_for_an_unreachable_broker_then_goes_ahead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mlc_core.runtime")
    started = time.monotonic()

    await wait_for_dependencies(unreachable(), asyncio.Event(), within=3.0)

    waits = [r.getMessage() for r in caplog.records]
    assert waits.count("Kafka not reachable yet, waiting") >= 2
    assert time.monotonic() - started >= 3.0


async def test_a_stop_ends_the_wait() -> None:
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(wait_for_dependencies(unreachable(), stop, within=300), 5)
