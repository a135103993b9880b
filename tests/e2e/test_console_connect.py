"""Connecting a tenant from the console: Zoho through the real authorization-code flow against
the emulator's consent page (state checked, code exchanged, refresh token stored encrypted),
Sage saved only after its checks pass, and the onboarding checklist that keeps a new tenant
from writing to Zoho until it is green (the same checklist `mlc tenant onboard` shows)."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx
import pytest
from mlc_core.crypto import KeyRing
from mlc_core.tenants import load_tenant
from mlc_core.zoho.consent import CONNECTOR_SCOPES
from mlc_devtools.devstack import DevStack
from mlc_devtools.emulated import DEMO_CLIENT_SECRET, connect_tenant
from mlc_ops import tenants
from playwright.async_api import BrowserContext, Page
from pydantic import SecretStr

from tests.e2e.conftest import eventually, zoho_accounts
from tests.e2e.console_support import browser, console, signed_in
from tests.e2e.replay_support import amlc, mlc_json

pytestmark = pytest.mark.browser
__all__ = ["browser", "console"]  # fixtures
TENANT = "console-connect"


@pytest.fixture(scope="module")
async def connected(
    console: DevStack, app_pool: asyncpg.Pool, keyring: KeyRing, sage: httpx.AsyncClient
) -> DevStack:
    await connect_tenant(
        pool=app_pool, keyring=keyring, stack=console.config, tenant_id=TENANT, company="CNX"
    )
    seeded = await sage.post("/_emulator/companies/CNX/seed", json={"count": 1, "seed": 3})
    assert seeded.status_code == 200, seeded.text
    return console


async def start_connect(page: Page, stack: DevStack) -> None:
    await page.goto(f"{stack.config.console_url}/tenants/{TENANT}/connect-zoho")
    await page.fill("input[name=client_secret]", DEMO_CLIENT_SECRET)
    await page.click("button:has-text('Continue to Zoho')")
    await page.wait_for_url(
        re.compile(re.escape(stack.config.zoho_url) + r"/accounts/us/oauth/v2/auth")
    )


@pytest.mark.timeout(300)
async def test_connect_zoho_through_the_consent_page(
    connected: DevStack, browser: BrowserContext, app_pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    before = await load_tenant(app_pool, keyring=keyring, tenant_id=TENANT)
    page = await signed_in(await browser.new_page(), connected)

    # A redirect whose state is not the one this session sent is refused, nothing stored.
    await start_connect(page, connected)
    await page.goto(f"{connected.config.console_url}/zoho/callback?code=1000.x&state=forged")
    assert "state does not match" in await page.inner_text("#outcome")

    await start_connect(page, connected)
    assert "ZohoCRM.modules.accounts.ALL" in await page.inner_text("body")  # the scopes asked for
    await page.select_option("select[name=org]", TENANT)
    await page.click("button:has-text('Accept')")
    await page.wait_for_url(re.compile(r"/zoho/callback\?"))
    outcome = await page.inner_text("#outcome")
    assert outcome.startswith("connected: Zoho us"), outcome

    after = await load_tenant(app_pool, keyring=keyring, tenant_id=TENANT)
    token = after.secrets.zoho_refresh_token.get_secret_value()
    assert token != before.secrets.zoho_refresh_token.get_secret_value()
    stored = await app_pool.fetchval("SELECT secrets FROM tenants WHERE tenant_id = $1", TENANT)
    assert token.encode() not in bytes(stored)  # encrypted at rest
    actions = await app_pool.fetch(
        "SELECT action, outcome FROM operator_actions WHERE tenant_id = $1 ORDER BY id", TENANT
    )
    assert [a["action"] for a in actions][-1] == "connect zoho"
    assert actions[-1]["outcome"].startswith("connected")
    assert any(a["outcome"].startswith("refused") for a in actions)


@pytest.mark.timeout(300)
async def test_connect_sage_tests_before_saving(
    connected: DevStack, browser: BrowserContext, app_pool: asyncpg.Pool, keyring: KeyRing
) -> None:
    page = await signed_in(await browser.new_page(), connected)
    url = f"{connected.config.console_url}/tenants/{TENANT}/connect-sage"
    await page.goto(url)
    await page.fill("input[name=agent_token]", "not-the-agent-token")
    await page.click("button:has-text('Test and save')")
    assert (await page.inner_text("#outcome")).startswith("not saved")
    kept = await load_tenant(app_pool, keyring=keyring, tenant_id=TENANT)
    assert kept.secrets.sage_agent_token.get_secret_value() == connected.config.sage_agent_token

    await page.goto(url)
    await page.fill("input[name=agent_token]", connected.config.sage_agent_token)
    await page.fill("input[name=company_code]", "cnx")
    await page.click("button:has-text('Test and save')")
    assert (await page.inner_text("#outcome")).startswith("saved"), await page.inner_text("main")


ONBOARD, ONBOARD_COMPANY = "console-onboard", "ONB"


@pytest.mark.timeout(600)
async def test_onboarding_checklist_gates_the_first_write(
    console: DevStack,
    browser: BrowserContext,
    app_pool: asyncpg.Pool,
    keyring: KeyRing,
    sage: httpx.AsyncClient,
    zoho: httpx.AsyncClient,
) -> None:
    # As `mlc tenant add` leaves it (disabled), with a mistyped agent token.
    await connect_tenant(
        pool=app_pool, keyring=keyring, stack=console.config, tenant_id=ONBOARD,
        company=ONBOARD_COMPANY, scopes=CONNECTOR_SCOPES,
    )  # fmt: skip
    await tenants.enable(pool=app_pool, tenant_id=ONBOARD, enabled=False)
    tenant = await load_tenant(app_pool, keyring=keyring, tenant_id=ONBOARD)
    wrong = tenant.secrets.model_copy(update={"sage_agent_token": SecretStr("mistyped")})
    await tenants.save(
        pool=app_pool, keyring=keyring, tenant=tenant.model_copy(update={"secrets": wrong})
    )
    seeded = await sage.post(
        f"/_emulator/companies/{ONBOARD_COMPANY}/seed",
        json={"count": 5, "seed": 5, "division": "01"},
    )
    assert seeded.status_code == 200, seeded.text

    found = await mlc_json(console, "tenant", "onboard", ONBOARD)
    steps = {s["name"]: s for s in found["steps"]}
    assert not steps["connected"]["done"] and "MLC_SAGE_AGENT_TOKEN" in steps["connected"]["fix"]
    assert steps["entities chosen"]["done"] and not steps["first sync"]["done"]
    assert found["ready"] is False and found["enabled"] is False

    page = await signed_in(await browser.new_page(), console)
    url = f"{console.config.console_url}/tenants/{ONBOARD}/onboard"
    await page.goto(url)
    assert await page.locator("#checklist li[data-done=no]").count() >= 3
    assert await page.locator("button:has-text('Start syncing')").count() == 0
    await asyncio.sleep(3)  # the services are running: a disabled tenant is not polled
    assert await zoho_accounts(zoho, ONBOARD) == []

    # The operator follows the checklist: Zoho setup (the fields the mapping writes), then the
    # agent token through Connect Sage; only the first sync is left.
    await amlc(console, "zoho", "setup", ONBOARD)
    await page.click("a:has-text('Connect Sage')")
    await page.fill("input[name=agent_token]", console.config.sage_agent_token)
    await page.click("button:has-text('Test and save')")
    assert (await page.inner_text("#outcome")).startswith("saved")
    await page.goto(url)
    assert await page.locator("#checklist li[data-done=no]").count() == 1  # first sync
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.click("button:has-text('Start syncing')")
    await page.wait_for_url(re.compile(r"/onboard$"))
    assert (await page.inner_text("#outcome")).startswith("enabled")
    await eventually(
        lambda: zoho_accounts(zoho, ONBOARD), lambda a: len(a) == 5, what="first sync",
        stack=console, within=120,
    )  # fmt: skip

    async def steps_left() -> int:
        await page.goto(url)
        return await page.locator("#checklist li[data-done=no]").count()

    await eventually(steps_left, lambda n: n == 0, what="a green checklist", stack=console)
    assert "green" in await page.inner_text("h1")
