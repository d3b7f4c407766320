"""The console paints its login screen first and loads the store behind it; a database it
cannot open ends it with one line, as the command line says it."""

from __future__ import annotations

import subprocess
import sys

from bench.pty_screen import PtyScreen
from tests.cli_support import MITRA

FIRST_PAINT = """
import asyncio, sys
from tui.i18n import set_language
set_language("en")
from pathlib import Path
import tui.app
from tui.app import MitraApp

async def never_opens():
    await asyncio.Event().wait()

class Probe(MitraApp):
    CSS_PATH = str(Path(tui.app.__file__).parent / MitraApp.CSS_PATH)

    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.report)

    def report(self):
        shown = " ".join(str(label.render()) for label in self.screen.query("Label"))
        loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("sqlalchemy", "sqlmodel", "alembic"))
        print("SHOWN", "Password" in shown, "LOADED", len(loaded))
        self.exit()

Probe(open_database=never_opens).run(headless=True)
"""


def test_the_login_screen_is_painted_before_the_store_is_loaded():
    finished = subprocess.run([sys.executable, "-c", FIRST_PAINT], capture_output=True, text=True, timeout=60)
    assert "SHOWN True LOADED 0" in finished.stdout, finished.stdout + finished.stderr


def test_a_database_the_console_cannot_open_ends_it_with_one_line():
    with PtyScreen([MITRA, "--db", "postgresql://clerk:s3cr3t@127.0.0.1:1/prakerja", "--lang", "en"]) as terminal:
        terminal.wait_for(lambda text: "Cannot reach the database 127.0.0.1:1/prakerja" in text, timeout=60)
        assert terminal.process.wait(timeout=30) == 1
        assert "s3cr3t" not in terminal.text() and "Traceback" not in terminal.text()


def test_without_a_terminal_the_console_says_so_instead_of_waiting_forever(tmp_path):
    # Its input at an end (a script, a redirect): Textual would read that end again and again.
    ran = subprocess.run([MITRA, "--db", str(tmp_path / "office.db"), "--lang", "en"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 2
    assert ran.stderr.strip() == ("The console needs a terminal: run mitra in one (its input and output not"
                                  " redirected), over SSH (mitra serve ssh) or in a browser (mitra serve web).")
    assert not (tmp_path / "office.db").exists(), "nothing was opened"
