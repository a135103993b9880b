"""Process plumbing every service shares: signals, settings errors, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable

from mlc_core.crypto import KeyRing
from mlc_core.logging import configure_logging
from mlc_core.settings import CommonSettings


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
    return KeyRing.parse(settings.master_keys_text())


def run_service(
    name: str, settings: CommonSettings, serve: Callable[[asyncio.Event], Awaitable[None]]
) -> None:
    configure_logging(name, settings.log_level)

    async def main() -> None:
        await serve(stop_on_signals())

    asyncio.run(main())
