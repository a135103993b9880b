"""Process plumbing every service shares: signals, logging, telemetry, health probes, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable

from mlc_core.crypto import KeyRing, ReloadingKeyRing
from mlc_core.health import ProbeSettings, Readiness, kafka_check, postgres_check, serve_probes
from mlc_core.logging import configure_logging, ctx
from mlc_core.settings import CommonSettings
from mlc_core.telemetry import configure_telemetry

log = logging.getLogger(__name__)
DEPENDENCY_WAIT_S = 300.0


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM/SIGINT, so loops finish their batch and close cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def keyring_from(settings: CommonSettings) -> KeyRing:
    """From MLC_MASTER_KEYS, or MLC_MASTER_KEYS_FILE, which is followed: a key added to the
    file (a rotation) is picked up without a restart."""
    if settings.master_keys is None and settings.master_keys_file is not None:
        return ReloadingKeyRing.from_file(settings.master_keys_file)
    return KeyRing.parse(settings.master_keys_text())


def run_service(
    name: str, settings: CommonSettings, serve: Callable[[asyncio.Event], Awaitable[None]]
) -> None:
    """Logging, telemetry and health probes around a service's `serve(stop)`."""
    configure_logging(name, settings.log_level)
    telemetry = configure_telemetry(name)

    async def main() -> None:
        stop = stop_on_signals()
        probes = await start_probes(ProbeSettings(), settings, stop)
        try:
            await wait_for_dependencies(settings, stop)
            await serve(stop)
        finally:
            if probes is not None:
                probes.close()

    try:
        asyncio.run(main())
    finally:
        telemetry.shutdown()  # flush the last spans and metrics before the process exits


async def wait_for_dependencies(
    settings: CommonSettings, stop: asyncio.Event, *, within: float = DEPENDENCY_WAIT_S
) -> None:
    """A service (re)started while Kafka or PostgreSQL restarts waits for them instead of
    exiting at its first connection: where nothing restarts it (the dev stack, a plain process
    manager) it would stay down. Past `within` it goes ahead and fails as it would have."""
    deadline = time.monotonic() + within
    checks = {
        "Kafka": kafka_check(settings.kafka_bootstrap),
        "PostgreSQL": postgres_check(settings.database_url.get_secret_value()),
    }
    for name, check in checks.items():
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(check(), timeout=10)
                break
            except Exception as exc:  # "not yet"; past the deadline serve() reports it itself
                log.warning("%s not reachable yet, waiting", name, extra=ctx(error=str(exc)))
                await sleep_or_stop(stop, 2.0)


async def start_probes(
    probe: ProbeSettings, settings: CommonSettings, stop: asyncio.Event
) -> asyncio.Server | None:
    if probe.health_port is None:
        return None
    readiness = Readiness(
        checks={
            "kafka": kafka_check(settings.kafka_bootstrap),
            "postgres": postgres_check(settings.database_url.get_secret_value()),
        },
        stop=stop,
    )
    server = await serve_probes(probe.health_host, probe.health_port, readiness)
    log.info("health probes listening", extra=ctx(port=probe.health_port))
    return server
