"""The operator console in Chromium against the running stack: sign in, watch a tenant's
counts move during its initial load without reloading, find a failed record from the tenant
page, read its trail, replay the tenant's failed records and see the record succeed; every
action lands in the operator audit trail that `mlc audit operators` shows."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from mlc_core.crypto import KeyRing
from mlc_devtools.devstack import DevStack
from playwright.async_api import BrowserContext, Page

from tests.e2e.conftest import eventually, key_of, onboard
from tests.e2e.console_support import browser, console, signed_in
from tests.e2e.replay_support import mlc_json

pytestmark = pytest.mark.browser
__all__ = ["browser", "console"]  # fixtures
TENANT, COMPANY, CUSTOMERS = "console-co", "CON", 12


async def cell(page: Page, tenant: str, column: str) -> int:
    text = await page.inner_text(f'tr[data-tenant="{tenant}"] td[data-col="{column}"]')
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
async def loading(
    console: DevStack, app_pool: asyncpg.Pool, keyring: KeyRing, sage: httpx.AsyncClient
) -> DevStack:
    """The tenant connected and seeded; its initial load under way, not awaited."""
    await onboard(
        console,
        app_pool,
        keyring,
        sage,
        tenant=TENANT,
        company=COMPANY,
        customers=CUSTOMERS,
        seed=21,
    )
    return console


@pytest.mark.timeout(600)
async def test_sign_in_and_watch_the_load(loading: DevStack, browser: BrowserContext) -> None:
    page = await browser.new_page()
    await page.goto(f"{loading.config.console_url}/signin")
    await page.fill("input[name=password]", "not the password")
    await page.click("button[type=submit]")
    assert "wrong user or password" in await page.inner_text("[role=alert]")

    await signed_in(page, loading)
    row = page.locator(f'tr[data-tenant="{TENANT}"]')
    await row.wait_for()
    await page.evaluate("window.stillTheSamePage = true")
    # The written count climbs to every customer while the page refreshes its rows itself.
    seen: set[int] = set()
    for _ in range(240):
        seen.add(await cell(page, TENANT, "written"))
        if CUSTOMERS in seen:
            break
        await asyncio.sleep(0.5)
    assert max(seen) == CUSTOMERS, f"written counts seen: {sorted(seen)}"
    assert await page.evaluate("window.stillTheSamePage") is True  # no reload happened
    assert await cell(page, TENANT, "failed") == 0


@pytest.mark.timeout(600)
async def test_failed_record_trail_and_replay(
    loading: DevStack, browser: BrowserContext, sage: httpx.AsyncClient, zoho: httpx.AsyncClient
) -> None:
    await eventually(
        lambda: mlc_json(loading, "status", TENANT, "--no-zoho"),
        lambda s: any(e["written_24h"] >= CUSTOMERS for e in s["entities"]),
        what=f"{TENANT} initial load",
        stack=loading,
        within=300,
    )
    console_url = loading.config.console_url
    # A refusal the writer cannot retry away (a 5xx is parked and retried by the product
    # itself): these records fail and wait for a person, which is what the console shows.
    fault = await zoho.post("/_emulator/faults", json={"org": TENANT, "status": 400})
    assert fault.status_code == 200, fault.text
    try:
        edited = await edit_customers(sage, 3)
        await eventually(
            lambda: mlc_json(loading, "audit", "failures", "--tenant", TENANT),
            lambda groups: sum(g["records"] for g in groups) >= len(edited),
            what="failed writes while Zoho refused them",
            stack=loading,
            within=300,
        )
    finally:
        await zoho.delete("/_emulator/faults", params={"org": TENANT})

    page = await signed_in(await browser.new_page(), loading)
    await page.goto(f"{console_url}/tenants/{TENANT}")
    failures = page.locator("h2:has-text('Failing now') + table")
    assert "INTERNAL_ERROR" in await failures.inner_text()
    assert "ping" in (await failures.inner_text()).lower()  # the fix says what to do
    await failures.locator("a").first.click()
    await page.wait_for_url(re.compile(r"/records\?"))
    trail = page.locator("#trail")
    assert "write failed" in await trail.inner_text()
    assert await page.inner_text("#last-outcome") == "failed"
    record_url = page.url

    # Replay asks first; dismissing it changes nothing.
    await page.goto(f"{console_url}/tenants/{TENANT}")
    page.once("dialog", lambda d: asyncio.ensure_future(d.dismiss()))
    await page.click("button:has-text('Replay failed records')")
    await page.wait_for_timeout(300)
    assert page.url.endswith(f"/tenants/{TENANT}")
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.click("button:has-text('Replay failed records')")
    await page.wait_for_url(re.compile(r"/replay$"))
    outcome = await page.inner_text("#outcome")
    assert re.search(r"re-sent \d+ failed record", outcome), outcome

    async def last_outcome() -> str:
        await page.goto(record_url)
        return await page.inner_text("#last-outcome")

    await eventually(last_outcome, lambda o: o == "succeeded", what="replayed", stack=loading)
    # The write that mended it: a recovery, or the replay's own outcome when the re-published
    # event carries the replay's mark (the trail then names the replay).
    trail_text = await page.inner_text("#trail")
    assert re.search(r"(recovered|re-published)[^\n]*Zoho \w+ ok", trail_text), trail_text
    assert await mlc_json(loading, "audit", "failures", "--tenant", TENANT) == []

    actions: list[dict[str, Any]] = await mlc_json(
        loading, "audit", "operators", "--tenant", TENANT
    )
    assert actions[0]["action"] == "replay failed" and actions[0]["operator"] == "admin"
    assert actions[0]["outcome"].startswith("re-sent")


@pytest.mark.slow  # the full browser set only: tests/services/console/test_auth.py covers CSRF
async def test_a_post_without_the_csrf_token_is_refused(
    loading: DevStack, browser: BrowserContext
) -> None:
    page = await signed_in(await browser.new_page(), loading)
    cookies = {c["name"]: c["value"] for c in await browser.cookies()}
    async with httpx.AsyncClient(base_url=loading.config.console_url, cookies=cookies) as http:
        refused = await http.post(f"/tenants/{TENANT}/disable", data={"csrf": "forged"})
        anonymous = await httpx.AsyncClient(base_url=loading.config.console_url).post(
            f"/tenants/{TENANT}/disable"
        )
    assert refused.status_code == 403 and anonymous.status_code == 401
    await page.goto(f"{loading.config.console_url}/tenants/{TENANT}")
    assert "Disable" in await page.inner_text(".actions")  # still enabled


async def edit_customers(sage: httpx.AsyncClient, count: int) -> list[str]:
    rows = (await sage.get(f"/_emulator/companies/{COMPANY}/ar_customers")).json()["records"]
    edits = [
        {
            "ARDivisionNo": r["ARDivisionNo"],
            "CustomerNo": r["CustomerNo"],
            "TelephoneNo": f"(717) 555-{i:04d}",
            "TelephoneExt": "",
        }
        for i, r in enumerate(rows[:count])
    ]
    stored = await sage.post(
        f"/_emulator/companies/{COMPANY}/ar_customers", json={"records": edits}
    )
    assert stored.status_code == 200, stored.text
    return [key_of(r) for r in stored.json()["records"]]


# axe-core's two highest impacts: what keeps a keyboard or screen-reader user from a task.
BLOCKING = {"critical", "serious"}


async def audit(page: Page, url: str) -> list[str]:
    """axe-core's serious or critical violations on the page at `url`, one line each."""
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    found = (await Axe().run(page)).response["violations"]
    return [
        f"{url}: {v['id']} ({v['impact']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.mark.timeout(300)
async def test_every_page_passes_an_accessibility_audit(
    loading: DevStack, browser: BrowserContext, sage: httpx.AsyncClient
) -> None:
    """Every page the console serves, signed out and in, audited by axe-core (WCAG 2.x A/AA
    rules and best practices) in Chromium: no serious or critical violation."""
    base = loading.config.console_url
    page = await browser.new_page()
    problems = await audit(page, f"{base}/signin")
    await signed_in(page, loading)
    rows = (await sage.get(f"/_emulator/companies/{COMPANY}/ar_customers")).json()["records"]
    record = f"/records?tenant={TENANT}&entity=ar_customer&key={key_of(rows[0])}"
    for path in (
        "/",
        f"/tenants/{TENANT}",
        "/records",
        record,
        f"/tenants/{TENANT}/connect-zoho",
        f"/tenants/{TENANT}/connect-sage",
        f"/tenants/{TENANT}/onboard",
        "/operators",
    ):
        problems += await audit(page, base + path)
    assert problems == []
    # The audit does find what it exists for: a button with no name, an image with no text.
    await page.set_content('<html lang="en"><body><main><button></button><img src="x.png">')
    control = (await Axe().run(page)).response["violations"]
    assert {"button-name", "image-alt"} <= {v["id"] for v in control}
