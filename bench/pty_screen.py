"""A program in a pseudo-terminal, read through a VT100 screen (pyte): what a person would see,
and when. Shared by the benches that time the console from a key (or its start) to the screen."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte


def memory_mb(pid: int, field: str = "VmRSS") -> float | None:
    """A process's memory from /proc/<pid>/status in MB: `VmRSS` (resident now) or `VmHWM` (its
    peak); None for a process that has none (ended: a zombie has no memory lines)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


class PtyScreen:
    def __init__(self, argv: list[str], *, columns: int = 80, lines: int = 24, env: dict[str, str] | None = None) -> None:
        parent, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        environment = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", **(env or {})}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdin=child, stdout=child, stderr=child, env=environment, close_fds=True)
        os.close(child)
        self.fd = parent
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes_read = 0

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, shown: Callable[[str], bool], timeout: float = 60) -> float:
        """Seconds from now until the screen shows what `shown` accepts."""
        began = time.perf_counter()
        deadline = began + timeout
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.01)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                self.bytes_read += len(chunk)
                self.stream.feed(chunk)
                if shown(self.text()):
                    return time.perf_counter() - began
        raise TimeoutError(f"the screen never showed what was expected:\n{self.text()}")

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.fd)

    def __enter__(self) -> PtyScreen:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
