"""Process plumbing every service shares: signals, logging, telemetry, health probes, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable

from mlc_core.crypto import KeyRing, ReloadingKeyRing
from mlc_core.health import (
    Liveness,
    ProbeSettings,
    Readiness,
    kafka_check,
    postgres_check,
    serve_probes,
)
from mlc_core.logging import configure_logging, ctx
from mlc_core.settings import CommonSettings
from mlc_core.telemetry import configure_telemetry

log = logging.getLogger(__name__)
DEPENDENCY_WAIT_S = 300.0
# Every service exits within 10 s of SIGTERM, whatever state Kafka and PostgreSQL are in: the
# stop event ends loops at their next batch; past SHUTDOWN_GRACE_S whatever still runs (a send
# to an unreachable Kafka, a query to a hung PostgreSQL) is cancelled, and past CANCEL_GRACE_S
# more the process exits as it is. Nothing is lost by that: the poller's events wait in its
# outbox, and a consumer's offsets are committed only after the effect was durable.
SHUTDOWN_GRACE_S = 6.0
CANCEL_GRACE_S = 2.0


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


def liveness_from_env() -> Liveness:
    """The loops a service's /healthz watches, with MLC_LIVENESS_STALL_SECONDS."""
    return Liveness(stall_after=ProbeSettings().liveness_stall_seconds)


def run_service(
    name: str,
    settings: CommonSettings,
    serve: Callable[[asyncio.Event], Awaitable[None]],
    *,
    liveness: Liveness | None = None,
) -> None:
    """Logging, telemetry and health probes around a service's `serve(stop)`; `liveness`: the
    loops `serve` registered for /healthz to watch."""
    configure_logging(name, settings.log_level)
    telemetry = configure_telemetry(name)

    async def main() -> None:
        stop = stop_on_signals()
        probes = await start_probes(ProbeSettings(), settings, stop, liveness)

        async def work() -> None:
            await wait_for_dependencies(settings, stop)
            await serve(stop)

        try:
            await run_until_stopped(work(), stop)
        except StopOverdue:
            # Returning would have asyncio.run wait for the very task that ignores its
            # cancellation; the exit must not depend on it.
            log.error("service did not stop in time; exiting without waiting for it")
            telemetry.shutdown()
            os._exit(1)
        finally:
            if probes is not None:
                probes.close()

    try:
        asyncio.run(main())
    finally:
        telemetry.shutdown()  # flush the last spans and metrics before the process exits


class StopOverdue(Exception):
    """A service's work neither finished nor honoured its cancellation after the stop."""


async def run_until_stopped(
    work: Awaitable[None],
    stop: asyncio.Event,
    *,
    grace: float = SHUTDOWN_GRACE_S,
    cancel_grace: float = CANCEL_GRACE_S,
) -> None:
    """Run `work` until it ends; once `stop` is set, give it `grace` seconds to end by itself,
    then cancel it, and raise StopOverdue if it is still running `cancel_grace` later."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=grace)
        if not task.done():
            log.warning("still stopping after %.0f s; cancelling what runs", grace)
            task.cancel()
            await asyncio.wait({task}, timeout=cancel_grace)
            if not task.done():
                raise StopOverdue
            return
    finally:
        stopping.cancel()
    task.result()


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
    probe: ProbeSettings,
    settings: CommonSettings,
    stop: asyncio.Event,
    liveness: Liveness | None = None,
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
    server = await serve_probes(probe.health_host, probe.health_port, readiness, liveness)
    log.info("health probes listening", extra=ctx(port=probe.health_port))
    return server
