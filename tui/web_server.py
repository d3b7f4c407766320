"""`mitra serve web`: the console in a browser tab, through textual-serve.

Every tab gets its own `mitra console` process, which opens on its login screen: the console's
own login is the gate (textual-serve adds none, and nothing here logs anyone in). The database
URL travels to those processes in their environment, never on their command line, so a password
in it shows neither in `ps` nor in the server's banner.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from textual_serve.server import Server

from store.config import DATABASE_URL_ENV

# What a console must never inherit from the server: another channel's login ticket, the
# command line's password.
NOT_INHERITED = ("MITRA_SSH_TICKET", "MITRA_SSH_HANDOFF", "MITRA_PASSWORD")


def console_command(language: str) -> str:
    """The shell command textual-serve runs for each browser tab."""
    mitra = Path(sys.executable).with_name("mitra")
    return shlex.join([str(mitra), "console", "--lang", language])


def prepare_environment(db_url: str | None) -> None:
    """The consoles' environment: the database chosen for the server, and nothing that logs in."""
    for name in NOT_INHERITED:
        os.environ.pop(name, None)
    if db_url:
        os.environ[DATABASE_URL_ENV] = db_url


class ConsoleServer(Server):
    """textual-serve's server with Mitra's one-line banner instead of its logo and command."""

    def __init__(self, command: str, host: str, port: int, public_url: str, banner: str) -> None:
        super().__init__(command, host=host, port=port, title="Mitra", public_url=public_url)
        self.banner = banner

    async def on_startup(self, app) -> None:
        self.console.print(self.banner, highlight=False)
