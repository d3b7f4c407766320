"""A program in a real pseudo-terminal, read through a VT100 screen (pyte)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

import pyte


def screen_of(process_fd: int, screen: pyte.Screen, stream: pyte.ByteStream, until, timeout: float = 60) -> str:
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


def raw_until(process_fd: int, stream: pyte.ByteStream, pattern: bytes, timeout: float = 30) -> bytes:
    """Read the program's raw output (still feeding the screen) until it holds `pattern`; for
    what a VT100 screen drops, such as OSC 52 clipboard writes."""
    deadline = time.monotonic() + timeout
    raw = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process_fd], [], [], 0.2)
        if ready:
            chunk = os.read(process_fd, 65536)
            stream.feed(chunk)
            raw += chunk
            if pattern in raw:
                return raw
    raise AssertionError(f"the program never wrote {pattern!r}")


def set_size(fd: int, columns: int, lines: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))


def in_a_pty(command: list[str], env: dict[str, str], columns: int, lines: int):
    """(process, the terminal's fd, its screen, the stream feeding the screen)."""
    parent, child = pty.openpty()
    os.set_blocking(parent, True)
    set_size(child, columns, lines)
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    screen = pyte.Screen(max(columns, 1), max(lines, 1))
    return process, parent, screen, pyte.ByteStream(screen)


def stop(process: subprocess.Popen, fd: int | None = None) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if fd is not None:
        os.close(fd)
