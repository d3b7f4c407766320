"""`mitra serve web`: the console in a browser tab, through textual-serve.

Every tab gets its own `mitra console` process, which opens on its login screen: the console's
own login is the gate (textual-serve adds none, and nothing here logs anyone in). The database
URL travels to those processes in their environment, never on their command line, so a password
in it shows neither in `ps` nor in the server's banner. Each console records its session as a
browser's (origin "web") with the address of the browser that opened the tab.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shlex
from contextvars import ContextVar

from aiohttp import web
from textual_serve.server import Server

from store.config import DATABASE_URL_ENV
from tui.ssh_handoff import SOCKET_ENV, TICKET_ENV
from tui.ssh_server import console_command as ssh_console_command

# What a console must never inherit from the server: another channel's login ticket, the
# command line's operator and password (whoever started the server logs no tab in).
NOT_INHERITED = (TICKET_ENV, SOCKET_ENV, "MITRA_OPERATOR", "MITRA_PASSWORD")
ORIGIN = "web"  # store/origin.py: ORIGINS

# The browser's address for the tab being opened. textual-serve builds the console's command
# line inside its websocket handler, in that connection's own task: a context variable set at
# the start of the handler is that connection's alone, however many tabs open at once.
_peer: ContextVar[str] = ContextVar("mitra_web_peer", default="")


def console_command(language: str) -> list[str]:
    """The console each tab runs: the same `mitra console` as an SSH connection's, on the
    database the environment names (prepare_environment), in the server's language."""
    return [*ssh_console_command(None), "--lang", language]


def prepare_environment(db_url: str | None) -> None:
    """The consoles' environment: the database chosen for the server, the browser as their
    origin, and nothing that logs in."""
    for name in NOT_INHERITED:
        os.environ.pop(name, None)
    os.environ["MITRA_ORIGIN"] = ORIGIN
    os.environ.pop("MITRA_PEER", None)  # each console gets its own tab's (ConsoleServer.command)
    if db_url:
        os.environ[DATABASE_URL_ENV] = db_url


def peer_address(remote: str | None, forwarded_for: str | None) -> str:
    """The browser's address. Behind a reverse proxy on this host (README: nginx, Caddy) the
    connection comes from loopback, and the proxy names the browser in X-Forwarded-For: its last
    entry is the one the proxy added (earlier ones are whatever the client sent). A header from
    any other address is ignored: a browser could write anything there."""
    remote = remote or ""
    try:
        from_loopback = ipaddress.ip_address(remote).is_loopback
    except ValueError:  # a Unix socket, or no address at all
        from_loopback = False
    if from_loopback and forwarded_for:
        forwarded = forwarded_for.split(",")[-1].strip()
        if forwarded:
            return forwarded
    return remote


class ConsoleServer(Server):
    """textual-serve's server with Mitra's one-line banner instead of its logo and command, and
    each tab's console told the address of its browser."""

    def __init__(self, console: list[str], host: str, port: int, public_url: str, banner: str) -> None:
        super().__init__(shlex.join(console), host=host, port=port, title="Mitra", public_url=public_url)
        self.banner = banner
        self._tabs: set[asyncio.Task] = set()  # the open tabs' websocket handlers

    @property
    def command(self) -> str:
        # textual-serve runs this through the shell; `exec` leaves no shell between it and the
        # console, and the peer goes in the console's environment like the origin.
        peer = _peer.get()
        prefix = f"MITRA_PEER={shlex.quote(peer)} " if peer else ""
        return f"{prefix}exec {self._console_line}"

    @command.setter
    def command(self, line: str) -> None:
        self._console_line = line  # textual-serve's __init__ sets the console's command line

    async def handle_websocket(self, request):
        # A proxy may send the header more than once: the entries read as one list, in order.
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        _peer.set(peer_address(request.remote, forwarded))
        tab = asyncio.current_task()
        self._tabs.add(tab)
        try:
            return await super().handle_websocket(request)
        finally:
            self._tabs.discard(tab)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # textual-serve's start-up hook prints its logo before the port is even bound; serve()
        # prints Mitra's banner once it listens instead.
        app.on_startup.remove(self.on_startup)
        return app

    async def on_shutdown(self, app) -> None:
        # Left alone, aiohttp waits up to a minute for open websockets and then kills their
        # handlers. Cancelled now, textual-serve's handler tells its console to quit and waits
        # for it: each console ends its operator's session as ctrl+q would, then the server stops.
        tabs = list(self._tabs)
        for tab in tabs:
            tab.cancel()
        await asyncio.gather(*tabs, return_exceptions=True)

    def serve(self, debug: bool = False) -> None:
        # aiohttp calls `print` once the port is listening: the banner then means "open the page
        # now" (soft_wrap: one line however narrow the terminal or a log file is). Ctrl+C and
        # SIGTERM stop the server through aiohttp's own signal handling.
        self.debug = debug
        self.initialize_logging()
        web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=True,
                    print=lambda _aiohttp_says: self.console.print(self.banner, highlight=False, soft_wrap=True))
