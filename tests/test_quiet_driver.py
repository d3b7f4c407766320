"""In a terminal the console's input thread sleeps until a key comes (tui/quiet_driver.py): an
idle console wakes for nothing, and Esc alone, keys sent as escape sequences and quitting work
as with Textual's own driver."""

from __future__ import annotations

import time
from pathlib import Path

from bench.pty_screen import PtyScreen
from tests.cli_support import MITRA


def _wakeups(pid: int) -> int:
    """How many times the process's threads have gone to sleep and been woken, so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                total += int(line.split()[1])
    return total


def test_an_idle_console_sleeps_and_esc_arrows_and_quit_still_work(db_url):
    with PtyScreen([MITRA, "--db", db_url, "--lang", "en"]) as terminal:
        terminal.wait_for(lambda text: "Password" in text)
        terminal.send(b"auditor\tdemo\r")
        terminal.wait_for(lambda text: "auditor (" in text and "Work waiting" in text)
        time.sleep(1)  # let the dashboard's loading finish
        before = _wakeups(terminal.process.pid)
        time.sleep(2)
        # Textual's driver looked for input ten times a second: about 20 wake-ups here.
        assert _wakeups(terminal.process.pid) - before <= 2
        terminal.send(b"\x10")  # Ctrl+P: the command palette
        terminal.wait_for(lambda text: "Search for commands" in text)
        terminal.send(b"\x1b")  # Esc alone closes it, once its short silence tells it from a sequence
        terminal.wait_for(lambda text: "Search for commands" not in text)
        terminal.send(b"7")
        terminal.wait_for(lambda text: "Audit" in text and "verify" in text.lower())
        terminal.send(b"\x11")  # Ctrl+Q
        assert terminal.process.wait(timeout=15) == 0


def test_bytes_that_are_not_utf8_do_not_end_the_console(db_url):
    with PtyScreen([MITRA, "--db", db_url, "--lang", "en"]) as terminal:
        terminal.wait_for(lambda text: "Password" in text)
        terminal.send(b"\xff\xfe")  # a terminal set to another encoding, or line noise
        terminal.wait_for(lambda text: "\ufffd\ufffd" in text)  # shown as what they are: not text
        terminal.send(b"\x7f\x7fauditor\tdemo\r")  # rubbed out, and the console goes on
        terminal.wait_for(lambda text: "auditor (" in text, timeout=30)
        assert "Traceback" not in terminal.text()


def test_ctrl_l_draws_every_cell_again_over_what_something_else_wrote(db_url):
    # The driver leaves out cells it believes the terminal shows already (tui/unchanged_spans.py):
    # after another program wrote to the terminal, only Ctrl+L can tell it they are not.
    with PtyScreen([MITRA, "--db", db_url, "--lang", "en"]) as terminal:
        terminal.wait_for(lambda text: "Password" in text)
        terminal.send(b"auditor\tdemo\r")
        terminal.wait_for(lambda text: "auditor (" in text and "Work waiting" in text)
        time.sleep(1)
        terminal.stream.feed(b"".join(b"\x1b[%d;1H" % row + b"#" * 80 for row in range(1, 25)))  # a system message
        assert "auditor (" not in terminal.text()
        terminal.send(b"\x0c")  # Ctrl+L
        terminal.wait_for(lambda text: "auditor (" in text and "Work waiting" in text and "#" not in text)
