"""Keys that arrive together (over SSH, from a password manager) are read in order: the whole
burst `coordinator<Tab>demo<Enter>` written at once into a real pseudo-terminal logs in, on the
plain login and on the demo's (whose operator list must not swallow a typed name); a burst into
a form puts each field's keys in its own field."""

from __future__ import annotations

import os
import time

import pytest

from tests.cli_support import DEMO_ARGS, MITRA
from tests.pty_support import in_a_pty, screen_of, stop

COLUMNS, LINES = 120, 36


@pytest.mark.parametrize("demo", [False, True], ids=["login", "demo-login"])
def test_a_burst_of_credentials_logs_in(demo, db_url, demo_cache):
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    env.pop("MITRA_PASSWORD", None)
    args = ["demo", *DEMO_ARGS, "--lang", "en"] if demo else ["--db", db_url, "--lang", "en"]
    if demo:
        env["MITRA_CACHE_DIR"] = str(demo_cache)
    process, fd, screen, stream = in_a_pty([MITRA, *args], env, COLUMNS, LINES)
    try:
        screen_of(fd, screen, stream, lambda text: "Password" in text and "User name" in text, timeout=180)
        time.sleep(1.0)  # the login screen has focused its first field
        os.write(fd, b"coordinator\tdemo\r")  # one write: the whole burst in one packet
        shown = screen_of(fd, screen, stream, lambda text: "coordinator (coordinator)" in text or "Wrong user name" in text)
        assert "coordinator (coordinator)" in shown, shown
    finally:
        stop(process, fd)


def test_a_burst_into_a_form_fills_each_field_with_its_own_keys(tmp_path, db_url):
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    env.pop("MITRA_PASSWORD", None)
    process, fd, screen, stream = in_a_pty([MITRA, "--db", db_url, "--lang", "en"], env, COLUMNS, LINES)
    try:
        screen_of(fd, screen, stream, lambda text: "Password" in text and "User name" in text, timeout=180)
        time.sleep(1.0)
        os.write(fd, b"admin\tdemo\r")
        screen_of(fd, screen, stream, lambda text: "admin (admin)" in text)
        os.write(fd, b"5")
        screen_of(fd, screen, stream, lambda text: "participants" in text.lower() and "Search" in text)
        os.write(fd, b"w")
        screen_of(fd, screen, stream, lambda text: "Waves" in text)
        os.write(fd, b"n")
        screen_of(fd, screen, stream, lambda text: "Wave number" in text and "Quota" in text)
        time.sleep(0.5)
        os.write(fd, b"77\t2027")  # one write: a field, Tab, the next field
        shown = screen_of(fd, screen, stream, lambda text: "2027" in text and "77" in text, timeout=15)
        number = next(line for line in shown.splitlines() if "Wave number" in line)
        year = next(line for line in shown.splitlines() if "Year" in line)
        assert "77" in number and "2027" not in number and "2027" in year, shown
        # On, then back twice (shift+Tab), and a key for that field: it lands there (replacing the
        # field's text, which a field reached by the keyboard selects), not in the next one.
        os.write(fd, b"\t\x1b[Z\x1b[Z9")
        shown = screen_of(fd, screen, stream, lambda text: "9" in next(
            line for line in text.splitlines() if "Wave number" in line), timeout=15)
        lines = shown.splitlines()
        assert "2027" in next(line for line in lines if "Year" in line)
        assert not any("9" in line for line in lines if "Training balance" in line or "Year" in line)
    finally:
        stop(process, fd)
