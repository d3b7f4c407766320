"""Keys that arrive together (over SSH, from a password manager) are read in order: the whole
burst `coordinator<Tab>demo<Enter>` written at once into a real pseudo-terminal logs in, on the
plain login and on the demo's (whose operator list must not swallow a typed name)."""

from __future__ import annotations

import os
import time

import pytest

from tests.cli_support import MITRA
from tests.pty_support import in_a_pty, screen_of, stop

COLUMNS, LINES = 120, 36


@pytest.mark.parametrize("demo", [False, True], ids=["login", "demo-login"])
def test_a_burst_of_credentials_logs_in(demo, tmp_path, db_url, backend):
    if backend != "sqlite":
        pytest.skip("the terminal side is the same on both back ends; one is enough")
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    env.pop("MITRA_PASSWORD", None)
    args = ["demo", "--participants", "0", "--lang", "en"] if demo else ["--db", db_url, "--lang", "en"]
    if demo:
        env["MITRA_CACHE_DIR"] = str(tmp_path / "cache")
    process, fd, screen, stream = in_a_pty([MITRA, *args], env, COLUMNS, LINES)
    try:
        screen_of(fd, screen, stream, lambda text: "Password" in text and "User name" in text, timeout=180)
        time.sleep(1.0)  # the login screen has focused its first field
        os.write(fd, b"coordinator\tdemo\r")  # one write: the whole burst in one packet
        shown = screen_of(fd, screen, stream, lambda text: "coordinator (coordinator)" in text or "Wrong user name" in text)
        assert "coordinator (coordinator)" in shown, shown
    finally:
        stop(process, fd)
