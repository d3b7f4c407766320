"""Keys that arrive together (over SSH, from a password manager) are read in order: the whole
burst `coordinator<Tab>demo<Enter>` written at once into a real pseudo-terminal logs in, on the
plain login and on the demo's (whose operator list must not swallow a typed name)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pyte
import pytest

from tests.cli_support import MITRA

COLUMNS, LINES = 120, 36


def _screen_of(process_fd: int, screen: pyte.Screen, stream: pyte.ByteStream, until, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process_fd], [], [], 0.2)
        if ready:
            try:
                stream.feed(os.read(process_fd, 65536))
            except OSError:
                break
        text = "\n".join(screen.display)
        if until(text):
            return text
    raise AssertionError(f"the screen never showed what was expected:\n{text}")


def _console_in_a_pty(args: list[str], env: dict[str, str]):
    parent, child = pty.openpty()
    os.set_blocking(parent, True)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    process = subprocess.Popen([MITRA, *args], stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    screen = pyte.Screen(COLUMNS, LINES)
    return process, parent, screen, pyte.ByteStream(screen)


@pytest.mark.parametrize("demo", [False, True], ids=["login", "demo-login"])
def test_a_burst_of_credentials_logs_in(demo, tmp_path, db_url, backend):
    if backend != "sqlite":
        pytest.skip("the terminal side is the same on both back ends; one is enough")
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    env.pop("MITRA_PASSWORD", None)
    args = ["demo", "--participants", "0", "--lang", "en"] if demo else ["--db", db_url, "--lang", "en"]
    if demo:
        env["MITRA_CACHE_DIR"] = str(tmp_path / "cache")
    process, fd, screen, stream = _console_in_a_pty(args, env)
    try:
        _screen_of(fd, screen, stream, lambda text: "Password" in text and "User name" in text, timeout=180)
        time.sleep(1.0)  # the login screen has focused its first field
        os.write(fd, b"coordinator\tdemo\r")  # one write: the whole burst in one packet
        shown = _screen_of(fd, screen, stream, lambda text: "coordinator (coordinator)" in text or "Wrong user name" in text)
        assert "coordinator (coordinator)" in shown, shown
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        os.close(fd)
