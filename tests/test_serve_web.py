"""`mitra serve web` in headless Chromium (Debian's package, driven by Playwright): each tab opens
on the console's own login screen, logs in with the keyboard, opens an area; a second tab is its
own console, still at the login screen."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess

import pytest
from sqlalchemy import select

from store.models import OperatorSession
from store.uow import read_session
from tests.cli_support import MITRA

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.async_api", reason="needs Playwright (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (.ci/run installs it)")

# xterm.js draws on a canvas when it can; without one it falls back to its DOM renderer, whose
# rows are text the test can read (the same characters the canvas would have painted).
DOM_RENDERER = "HTMLCanvasElement.prototype.getContext = function () { return null; };"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("the web side is the same on both back ends; the console's login is tested on both")


@pytest.fixture
def web_server(db_url):
    port = _free_port()
    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
    env.pop("MITRA_PASSWORD", None)
    process = subprocess.Popen([MITRA, "serve", "web", "--listen", f"127.0.0.1:{port}", "--db", db_url, "--lang", "en"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    banner = process.stdout.readline()
    assert f"http://127.0.0.1:{port}" in banner, banner
    yield f"http://127.0.0.1:{port}/"
    process.terminate()
    process.wait(timeout=15)


async def _text(page) -> str:
    return await page.evaluate("() => document.querySelector('.xterm-rows')?.innerText ?? ''")


async def _until(page, wanted: str, timeout: float = 60) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    text = ""
    while asyncio.get_running_loop().time() < deadline:
        text = await _text(page)
        if wanted in text:
            return text
        await asyncio.sleep(0.3)
    raise AssertionError(f"the page never showed {wanted!r}:\n{text}")


async def _open(browser, url: str):
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.add_init_script(DOM_RENDERER)
    await page.goto(url)
    return page


async def _type_login(page, username: str, password: str) -> None:
    """Into the terminal, with the keyboard, as an operator would."""
    await page.click("#terminal")
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def test_a_browser_tab_logs_in_with_the_keyboard_and_opens_an_area(sqlite_only, db, web_server):
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await _open(browser, web_server)
            shown = await _until(page, "User name")
            assert "Password" in shown and "Work waiting" not in shown  # the gate, not a console
            await _type_login(page, "coordinator", "demo")
            shown = await _until(page, "coordinator (coordinator)")
            await _until(page, "Work waiting for you")
            await page.keyboard.press("5")
            await _until(page, "Participants")
            shown = await _until(page, "Balance")  # the participants list's columns
            # A second tab is a console of its own: at its login screen, not the first tab's.
            other = await _open(browser, web_server)
            shown = await _until(other, "User name")
            assert "coordinator (coordinator)" not in shown
        finally:
            await browser.close()
    async with read_session(db) as session:
        started = list((await session.execute(select(OperatorSession))).scalars())
    assert len(started) == 1  # one login, by the keyboard in the first tab


async def test_a_wrong_password_in_the_browser_stays_at_the_login_screen(sqlite_only, db, web_server):
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await _open(browser, web_server)
            await _until(page, "User name")
            await _type_login(page, "coordinator", "not-the-password")
            shown = await _until(page, "Wrong")
            assert "Work waiting" not in shown
        finally:
            await browser.close()
