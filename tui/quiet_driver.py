"""A terminal driver whose input thread sleeps until the operator types.

Textual's Linux driver reads keys on a thread that wakes ten times a second, whether or not a key
came: to notice that the console is closing, and to finish an escape sequence that stopped half
way (a lone Esc press is told from the start of an arrow key's sequence by a short silence). Idle,
that is about 0.1 % of a core per console; on a server holding fifty field staff's consoles
(`mitra serve ssh`) it was 5 % of a core for nothing (bench/ssh_sessions.py).

This driver's input thread waits on the terminal and on a pipe of its own: the pipe is written
when the console closes, and a timeout is set only while the parser holds an unfinished
sequence. What it writes passes through `UnchangedSpans` (tui/unchanged_spans.py: cells the
terminal shows already are left out) and `StyleSteps` (tui/terminal_output.py: the smallest
change of style), the same cells in fewer bytes. Everything else is Textual's LinuxDriver.
"""

from __future__ import annotations

import os
import selectors
import threading
import time
from codecs import getincrementaldecoder

from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from tui.terminal_output import StyleSteps
from tui.unchanged_spans import UnchangedSpans


class _WakingEvent(threading.Event):
    """The driver's exit flag; setting it also wakes the sleeping input thread."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        os.write(self._wake_fd, b"!")


class QuietDriver(LinuxDriver):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self.exit_event = _WakingEvent(wake_write)
        self._restyle = StyleSteps()
        self._skip = UnchangedSpans()
        self._size: tuple[int, int] | None = None

    def forget_screen(self) -> None:
        """Nothing on the terminal is taken as known (Ctrl+L: the console draws every cell again)."""
        self._skip.forget()

    def write(self, data: str) -> None:
        size = self._get_terminal_size()
        if size != self._size:  # resized (the terminal may have moved or cleared its cells)
            self._size = size
            self._skip.forget()
            self._skip.lines = size[1]
        super().write(self._restyle(self._skip(data)))

    def run_input_thread(self) -> None:
        parser = XTermParser(self._debug)
        # A byte that is not UTF-8 (a terminal set to another encoding, line noise) is shown as
        # a replacement character; Textual's strict decoder ended the console with a traceback.
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        with selectors.SelectSelector() as selector:  # as Textual's: kqueue cannot wait on a tty on macOS
            selector.register(self.fileno, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self.exit_event.is_set():
                for key, _mask in selector.select(self._timeout(parser)):
                    if key.fd == self._wake_read:
                        os.read(self._wake_read, 64)
                        continue
                    data = os.read(self.fileno, 4096)
                    if not data:  # the terminal is gone (input at its end): wait for the exit alone
                        selector.unregister(self.fileno)
                        continue
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():  # an Esc alone, once its silence has lasted long enough
                    self.process_message(event)

    @staticmethod
    def _timeout(parser: XTermParser) -> float | None:
        """None (sleep until input) unless a sequence waits for its end."""
        if not hasattr(parser, "_timeout_time"):
            return 0.1  # a Textual whose parser keeps no deadline: look ten times a second, as it does
        deadline = parser._timeout_time  # set by the parser while it waits to finish a sequence
        return None if deadline is None else max(0.0, deadline - time.monotonic())  # the parser's clock
