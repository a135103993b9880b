"""`mlc-dev console-screenshots`: a screenshot of each console page, for the README, taken in
Debian's Chromium against a running demo (`make demo`): tenants, one tenant with its failures,
a record's trail, an action's result, onboarding, Connect Zoho and Sage, the operator audit and the
sign-in page."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from playwright.async_api import Page, async_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = verbs.add_parser("console-screenshots", help="PNGs of every console page")
    cmd.add_argument("--url", default="http://127.0.0.1:18400")
    cmd.add_argument(
        "--password-file", type=Path, default=Path(".local/state/demo-console-password")
    )
    cmd.add_argument("--tenant", default="demo")
    cmd.add_argument("--out", type=Path, default=Path("docs/console"))
    cmd.add_argument("--chromium", default="/usr/bin/chromium")
    cmd.set_defaults(handler=shots_cmd)


async def shots_cmd(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlc-shots-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile,
                executable_path=args.chromium,
                args=ARGS,
                headless=True,
                viewport={"width": 1366, "height": 768},
            )
            page = await context.new_page()
            await shoot(page, args)
            await context.close()


async def shoot(page: Page, args: argparse.Namespace) -> None:
    url, out = args.url.rstrip("/"), args.out
    await page.goto(f"{url}/signin")
    await page.screenshot(path=str(out / "signin.png"))
    await page.fill("input[name=password]", args.password_file.read_text().strip())
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/")
    await page.screenshot(path=str(out / "tenants.png"), full_page=True)
    await page.goto(f"{url}/tenants/{args.tenant}")
    await page.screenshot(path=str(out / "tenant.png"), full_page=True)
    example = page.locator("h2:has-text('Failing now') + table a").first
    if await example.count():
        await example.click()
    else:
        await page.goto(f"{url}/records?tenant={args.tenant}&entity=ar_customer&key=01-0000001")
    await page.wait_for_load_state()
    details = page.locator("#trail details").first
    if await details.count():
        await details.locator("summary").click()
    await page.screenshot(path=str(out / "record.png"), full_page=True)
    await page.goto(f"{url}/tenants/{args.tenant}")
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.click("button:has-text('Run ping')")
    await page.wait_for_url(f"{url}/tenants/{args.tenant}/ping")
    await page.screenshot(path=str(out / "ping.png"), full_page=True)
    await page.goto(f"{url}/tenants/{args.tenant}/onboard")
    await page.screenshot(path=str(out / "onboard.png"), full_page=True)
    await page.goto(f"{url}/tenants/{args.tenant}/connect-zoho")
    await page.screenshot(path=str(out / "connect-zoho.png"), full_page=True)
    await page.goto(f"{url}/tenants/{args.tenant}/connect-sage")
    await page.screenshot(path=str(out / "connect-sage.png"), full_page=True)
    await page.goto(f"{url}/operators")
    await page.screenshot(path=str(out / "operators.png"), full_page=True)
    print(f"screenshots in {out}")
