"""Fewer bytes for the same picture: what the console writes to a terminal, without the style
changes that change nothing.

Textual writes every run of text as "set its style, the text, reset": a row of cells of one style
in three pieces reads `ESC[48;5;17m ESC[0m ESC[48;5;17m  ESC[0m ESC[48;5;17mx ESC[0m`. Over a field
link (SSH, slow mobile data) those repeats are a quarter of every repaint. `Coalescer` drops:

- a reset followed at once by the very style that was set from a clean state before it (the
  terminal's state would come back to what it already is);
- a style set with no text before the next reset (it colours nothing).

Every other byte is kept in order, so the terminal draws exactly the same cells
(tests/test_terminal_output.py compares the cells on a VT100 screen).
"""

from __future__ import annotations

import re

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_CUT = re.compile(r"\x1b(\[[0-9;?]*)?$")  # a write that ends inside an escape sequence


class Coalescer:
    """Coalesces one terminal's output, write after write: a write that ended on a reset leaves
    the next one a known, clean state to start from."""

    def __init__(self) -> None:
        self._clean = False  # unknown before the first write

    def __call__(self, output: str) -> str:
        pieces: list[str] = []
        position = 0
        clean = self._clean  # the terminal's style is the reset one
        active: str | None = None  # the style set from a clean state, while it is the one in force
        held_reset: str | None = None  # a reset not yet written: the next style may make it needless
        held_style: str | None = None  # a style not yet written: text may never follow it

        def write_held() -> None:
            nonlocal held_reset, held_style, clean, active
            if held_reset is not None:
                pieces.append(held_reset)
                held_reset, clean, active = None, True, None
            if held_style is not None:
                pieces.append(held_style)
                active = held_style if clean else None
                held_style, clean = None, False

        for match in _SGR.finditer(output):
            text = output[position:match.start()]
            if text:
                write_held()
                pieces.append(text)
            position = match.end()
            if match.group(1) in ("", "0"):
                held_style = None  # set, then reset before any text: it coloured nothing
                held_reset = match.group(0)
            elif held_reset is not None and held_style is None and match.group(0) == active:
                held_reset = None  # reset, then the same style again: the state stays as it is
            else:
                if held_style is not None:
                    write_held()  # one style over another: both are written, in order
                held_style = match.group(0)
        tail = output[position:]
        if tail or held_style is not None:
            write_held()  # a write ends as Textual ended it, on its last reset or style
            pieces.append(tail)
        elif held_reset is not None:
            pieces.append(held_reset)
            clean = True
        self._clean = clean and not _CUT.search(tail)  # the next write may finish a style begun here
        return "".join(pieces)
