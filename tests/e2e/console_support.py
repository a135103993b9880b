"""The console in a real browser: Debian's Chromium driven by Playwright (no browser download;
deploy/local/browser.sh installs the package), and the console started by the dev stack."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator

import hypothesis  # noqa: F401 - see below
import pytest
from mlc_devtools.devstack import DevStack
from mlc_ops.passwords import hash_password
from playwright.async_api import BrowserContext, Page, async_playwright

from tests.e2e.conftest import free_port

# Importing hypothesis up front: once Playwright's dispatcher greenlet has run, CPython 3.11's
# AST recursion counter is off, and a module first imported (so assertion-rewritten) after that
# fails to parse. Hypothesis's pytest plugin imports its package at the session's end.

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "console-test-password"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def console(services: DevStack) -> DevStack:
    """The console beside the four services, with a known admin password and 1 s refreshes."""
    if "mlc-console" in services.procs:  # each test module imports this fixture: one console
        return services
    services.config.console_port = free_port()
    services.config.console_password_hash = hash_password(PASSWORD)
    services.config.extra_env["MLC_CONSOLE_REFRESH_SECONDS"] = "1"
    services.start_console()
    return services


@pytest.fixture
async def browser() -> AsyncIterator[BrowserContext]:
    """A fresh profile each test: no cookies or cache carried over."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} missing: run deploy/local/browser.sh (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="mlc-chromium-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                yield context
            finally:
                await context.close()


async def signed_in(page: Page, stack: DevStack) -> Page:
    await page.goto(f"{stack.config.console_url}/")
    assert page.url.endswith("/signin?next=/")
    await page.fill("input[name=user]", "admin")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{stack.config.console_url}/")
    return page
