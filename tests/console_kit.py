"""The console in a real browser: the API served by uvicorn on a free port (same event loop as the
test), Debian's chromium driven by Playwright, nothing downloaded. Screenshots go to
`tests/screenshots/` (git-ignored) at 1280×800 and at phone width. And, without a browser, the notice a
page shows after an action."""

from __future__ import annotations

import asyncio
import html
import importlib.util
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from starter.api import create_app

CHROMIUM = os.environ.get("TENURE_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]

# Keys of every role (SECRET:ROLE:NAME), as TENURE_API_KEYS spells them.
KEYS = {
    "support": "support-key-for-tests:support:maria",
    "marketer": "marketer-key-for-tests:marketer:lee",
    "viewer": "viewer-key-for-tests:viewer:vic",
    "admin": "admin-key-for-tests:admin:root",
    "app": "app-key-for-tests:app:billing",
}


def secret(role: str) -> str:
    return KEYS[role].split(":")[0]


def chromium_or_skip() -> str:
    """The browser's path, or the test is skipped saying why (`.ci/run` installs Debian's chromium)."""
    path = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)
    if path is None:
        pytest.skip(f"browser tests skipped: no chromium at {CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("browser tests skipped: the playwright package is not installed (the test extra)")
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's chromium driven by Playwright (the test is skipped, saying why, where either is absent),
    closed whatever the test did."""
    path = chromium_or_skip()
    from playwright.async_api import async_playwright  # the test extra: only browser tests need it

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def browser_sign_in(page: Any, key: str) -> None:
    """Sign the page's browser context in at the console's login page with `key`."""
    await page.goto("/console/login")
    await page.fill("input[name=key]", key)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_load_state()


def notice_on(text: str) -> str | None:
    """The notice a console page shows (as read, unescaped); None when it shows none."""
    found = re.search(r'data-testid="notice">([^<]*)</div>', text)
    return None if found is None else html.unescape(found.group(1))


async def notice_after(http: Any, answer: Any) -> str:
    """What the console told after a form: the notice on the page its redirect (`answer`) leads to."""
    assert answer.status_code == 303, answer.text
    page = await http.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    notice = notice_on(page.text)
    assert notice is not None, page.text
    return notice


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def serving(settings: Any, client: Any, program: Any, engine: Any, journeys: Any = None):
    """The whole app (API and console) on http://127.0.0.1:<free port>, in this event loop; `journeys`
    stands in for its TenureClient when given (journeys answered without Temporal)."""
    app = create_app(settings, client=client, program=program, engine=engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    if journeys is not None:
        app.state.services._tenure = journeys
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def shoot(page: Any, name: str, element: Any = None) -> None:
    """A full-page screenshot at the page's current size (or of one `element`, a locator), for a person
    to look at; at phone width the page must not scroll sideways."""
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.wait_for_timeout(300)  # charts follow a new viewport size on their next frame
    width = page.viewport_size["width"]
    if width < 600:
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name}: the page is {wide} px wide at a {width} px viewport"
    if element is not None:
        await element.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    else:
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
