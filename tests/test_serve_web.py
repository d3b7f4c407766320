"""`mitra serve web` in headless Chromium (Debian's package, driven by Playwright): each tab opens
on the console's own login screen, also when the server was started with an operator and a
password in its environment; a tab logs in with the keyboard, opens an area, and its session is
recorded as a browser's with the browser's address, ended when the tab closes; a second tab is
its own console, still at the login screen (that test on SQLite and PostgreSQL: the server serves
whatever --db names). The per-tab console is the plain `mitra console`, read from the server's own
child processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from store.models import OperatorSession
from store.uow import read_session
from tests.cli_support import MITRA
from tests.pty_support import stop
from tui.web_server import peer_address

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
try:
    from playwright import async_api as playwright_api
except ImportError:  # the test extras are not installed
    playwright_api = None

# xterm.js draws on a canvas when it can; without one it falls back to its DOM renderer, whose
# rows are text the test can read (the same characters the canvas would have painted).
DOM_RENDERER = "HTMLCanvasElement.prototype.getContext = function () { return null; };"


@pytest.fixture
def chromium() -> str:
    """Debian's chromium and Playwright, or a skip that says which is missing; in CI (.ci/run
    installs chromium and sets MITRA_REQUIRE_BROWSER) a missing one fails the test instead."""
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append("Debian's chromium (apt-get install chromium; .ci/run installs it)")
    if playwright_api is None:
        missing.append("Playwright (pip install -e '.[test]')")
    if missing:
        reason = "needs " + " and ".join(missing)
        if os.environ.get("MITRA_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}: MITRA_REQUIRE_BROWSER is set (CI), so the browser tests must run")
        pytest.skip(reason)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    def __init__(self, db_url: str) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/"
        # An operator and a password in the server's environment must log no tab in.
        env = {**os.environ, "LANG": "C.UTF-8", "MITRA_OPERATOR": "coordinator", "MITRA_PASSWORD": "demo"}
        self.process = subprocess.Popen(
            [MITRA, "serve", "web", "--listen", f"127.0.0.1:{port}", "--db", db_url, "--lang", "en"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.banner = self.process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in self.banner, self.banner

    def consoles(self) -> dict[int, tuple[list[str], dict[str, str]]]:
        """The server's child processes that run the console: their command lines and environments."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                # The fields after the command name (which may hold spaces) start with state, ppid.
                if int(stat.rsplit(")", 1)[1].split()[1]) != self.process.pid:
                    continue
                argv = (entry / "cmdline").read_bytes().decode().split("\0")[:-1]
                env = dict(item.split("=", 1) for item in (entry / "environ").read_bytes().decode().split("\0") if "=" in item)
            except (OSError, IndexError, ValueError):
                continue  # ended meanwhile
            if "console" in argv:  # past the shell's exec
                found[int(entry.name)] = (argv, env)
        return found

    async def until_consoles(self, count: int, timeout: float = 30) -> dict[int, tuple[list[str], dict[str, str]]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.consoles()
            if len(found) >= count:
                return found
            await asyncio.sleep(0.2)
        raise AssertionError(f"{count} console(s) never started: {self.consoles()}")


@pytest.fixture
def web_server(db_url):
    server = WebServer(db_url)
    yield server
    stop(server.process)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended, only not yet been reaped


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


async def _sessions(db) -> list[OperatorSession]:
    async with read_session(db) as session:
        return list((await session.execute(select(OperatorSession).order_by(OperatorSession.id))).scalars())


def test_the_browsers_address_comes_from_a_proxy_header_only_through_a_local_proxy():
    assert peer_address("192.0.2.10", None) == "192.0.2.10"
    # Through nginx or Caddy on the same host: the entry the proxy added, not what the client wrote.
    assert peer_address("127.0.0.1", "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    assert peer_address("::1", "203.0.113.7") == "203.0.113.7"
    # Straight from the network, the header is the browser's own word: not believed.
    assert peer_address("192.0.2.10", "203.0.113.7") == "192.0.2.10"
    assert peer_address("127.0.0.1", " ") == "127.0.0.1"
    assert peer_address(None, "203.0.113.7") == ""



@contextlib.asynccontextmanager
async def _browser(chromium: str):
    """Headless Chromium, closed however the test ends."""
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def _type_login(page, username: str, password: str) -> None:
    """Into the terminal, with the keyboard, as an operator would, once the login screen shows."""
    await _until(page, "User name")
    await page.click("#terminal")
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def test_an_unauthenticated_tab_shows_the_login_screen_not_a_console(chromium, db, db_url, web_server):
    async with _browser(chromium) as browser:
        page = await _open(browser, web_server.url)
        shown = await _until(page, "User name")
        assert "Password" in shown and "Log in" in shown
        # No area, no tab bar, no operator: the login screen is all there is.
        for console_only in ("Work waiting", "1 Dashboard", "5 Participants", "(coordinator)"):
            assert console_only not in shown, shown
        # The tab's console is the plain `mitra console` on the server's database, with the
        # server's operator and password left behind.
        [(argv, env)] = (await web_server.until_consoles(1)).values()
        assert argv[-4:] == [MITRA, "console", "--lang", "en"], argv
        assert not {"--demo", "--operator", "demo"} & set(argv), argv
        assert env["MITRA_DATABASE_URL"] == db_url
        assert "MITRA_PASSWORD" not in env and "MITRA_OPERATOR" not in env
        assert env["MITRA_ORIGIN"] == "web" and env["MITRA_PEER"] == "127.0.0.1"
        # Area keys typed at the gate are letters in the user name, not navigation.
        await page.click("#terminal")
        await page.keyboard.press("5")
        await page.keyboard.press("Escape")
        await asyncio.sleep(1)
        assert "5 Participants" not in await _text(page)
    assert await _sessions(db) == []


@pytest.mark.both_backends  # the web side is the same on both; the console behind a tab meets each
async def test_a_browser_tab_logs_in_with_the_keyboard_and_opens_an_area(chromium, db, web_server):
    async with _browser(chromium) as browser:
        page = await _open(browser, web_server.url)
        shown = await _until(page, "User name")
        assert "Password" in shown and "Work waiting" not in shown  # the gate, not a console
        await _type_login(page, "coordinator", "demo")
        await _until(page, "coordinator (coordinator)")
        await _until(page, "Work waiting for you")
        await page.keyboard.press("5")
        shown = await _until(page, "Balance")  # the participants list's columns
        # A second tab is a console of its own: at its login screen, not the first tab's.
        other = await _open(browser, web_server.url)
        shown = await _until(other, "User name")
        assert "coordinator (coordinator)" not in shown
        [started] = await _sessions(db)  # one login, by the keyboard in the first tab
        assert (started.origin, started.peer, started.ended_at) == ("web", "127.0.0.1", None)
    # Closing the tab ends its console, and the console its session (as a dropped SSH link does).
    deadline = asyncio.get_running_loop().time() + 30
    while (await _sessions(db))[0].ended_at is None:
        assert asyncio.get_running_loop().time() < deadline, "the closed tab's session never ended"
        await asyncio.sleep(0.3)


async def test_stopping_the_server_quits_its_tabs_consoles_and_ends_their_sessions(chromium, db, web_server):
    async with _browser(chromium) as browser:
        page = await _open(browser, web_server.url)
        await _type_login(page, "coordinator", "demo")
        await _until(page, "Work waiting for you")
        [console] = await web_server.until_consoles(1)
        started = asyncio.get_running_loop().time()
        web_server.process.terminate()  # what systemd or Ctrl+C does, with the tab still open
        while web_server.process.poll() is None:
            # aiohttp alone would wait up to a minute for the open websocket.
            assert asyncio.get_running_loop().time() - started < 15, "the server did not stop"
            await asyncio.sleep(0.1)
    assert web_server.process.returncode == 0
    assert not _running(console), "the tab's console outlived the server"
    [session] = await _sessions(db)
    assert session.ended_at is not None  # ended by its console on the way out, not left open


async def test_a_wrong_password_in_the_browser_stays_at_the_login_screen(chromium, db, web_server):
    async with _browser(chromium) as browser:
        page = await _open(browser, web_server.url)
        await _type_login(page, "coordinator", "not-the-password")
        shown = await _until(page, "Wrong")
        assert "Work waiting" not in shown
    assert await _sessions(db) == []


async def test_tabs_opened_at_once_through_a_proxy_each_know_their_own_browser(web_server):
    # The websocket as nginx passes it on (from loopback, X-Forwarded-For added): two tabs at once.
    import aiohttp

    ws_url = web_server.url.replace("http:", "ws:") + "ws?width=100&height=30"
    browsers = ["203.0.113.7", "203.0.113.8"]
    async with aiohttp.ClientSession() as client:
        sockets = await asyncio.gather(*(
            client.ws_connect(ws_url, headers={"X-Forwarded-For": f"198.51.100.1, {address}"})
            for address in browsers))
        try:
            consoles = await web_server.until_consoles(2)
            assert sorted(env["MITRA_PEER"] for _argv, env in consoles.values()) == browsers
        finally:
            for websocket in sockets:
                await websocket.close()
