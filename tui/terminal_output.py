"""Fewer bytes for the same picture: the console's output with each change of style written as
the smallest step from the terminal's current style.

Textual writes every run of text as "set its whole style, the text, reset": a row of cells of one
colour in three pieces reads `ESC[48;5;17m ESC[0m ESC[48;5;17m  ESC[0m ESC[48;5;17mx ESC[0m`, and
going from one colour to the next resets everything and sets it all again. Over a field link
(SSH, slow mobile data) that is about a third of every repaint. `StyleSteps` follows the style the
terminal is in and the one the next text needs, and writes only the difference (or a reset
and the whole style, when that is shorter), right before the text that needs it.

Style parameters it does not know (anything beyond bold, dim, italic, underline, blink, reverse,
conceal, strike and the colours) are passed on as they are, after which it assumes nothing until
the next reset. Every byte that is not a style change is written in order, so the terminal draws
the same cells (tests/test_terminal_output.py compares them on a VT100 screen).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_MOVE = re.compile(r"(?:\x1b\[\d*;?\d*H|\r)+")  # cursor moves paint nothing: no style needed for them
_CUT = re.compile(r"\x1b(?:\[[0-9;?<=>]*[ -/]*|\][^\x07\x1b]*)?$")  # a write that ends inside an escape sequence

_FG = re.compile(r"38;5;\d+|38;2;\d+;\d+;\d+|3[0-7]|9[0-7]")
_BG = re.compile(r"48;5;\d+|48;2;\d+;\d+;\d+|4[0-7]|10[0-7]")
_FLAG_ON = {"1", "2", "3", "4", "5", "7", "8", "9"}
_FLAG_OFF = {"23": {"3"}, "24": {"4"}, "25": {"5"}, "27": {"7"}, "28": {"8"}, "29": {"9"}, "22": {"1", "2"}}
_OFF_CODE = {"3": "23", "4": "24", "5": "25", "7": "27", "8": "28", "9": "29"}


class Style(NamedTuple):
    # A tuple, not a dataclass: a style is hashed and compared for every cell written (here and in
    # tui/unchanged_spans.py), and a tuple's hash and equality run in C, a dataclass's in Python
    # (a third of the time of the repaint of a page of the participants list).
    flags: frozenset[str] = frozenset()
    fg: str | None = None  # "31", "38;5;214", "38;2;10;20;30"; None: the terminal's own
    bg: str | None = None

    def codes(self) -> list[str]:
        return sorted(self.flags) + [colour for colour in (self.fg, self.bg) if colour]


PLAIN = Style()


def _parameters(params: str) -> list[str]:
    """An SGR's parameters, each extended colour ("38;5;214", "48;2;10;20;30") as one."""
    codes, items = params.split(";") if params else ["0"], []
    index = 0
    while index < len(codes):
        width = {"5": 3, "2": 5}.get(codes[index + 1], 1) if codes[index] in ("38", "48") and index + 1 < len(codes) else 1
        items.append(";".join(codes[index:index + width]))
        index += width
    return items


@lru_cache(maxsize=4096)  # a screen has a few dozen styles, written thousands of times
def after_sgr(style: Style | None, params: str) -> Style | None:
    """The style after an SGR with `params`; None once a parameter is not understood, until the
    next reset."""
    for item in _parameters(params):
        if item in ("", "0"):
            style = PLAIN
        elif style is not None:
            style = _with(style, item)
    return style


def _with(style: Style, item: str) -> Style | None:
    """`style` with one more parameter; None if it is not one this module follows."""
    if item in _FLAG_ON:
        return style._replace(flags=style.flags | {item})
    if item in _FLAG_OFF:
        return style._replace(flags=style.flags - _FLAG_OFF[item])
    if _FG.fullmatch(item):
        return style._replace(fg=item)
    if _BG.fullmatch(item):
        return style._replace(bg=item)
    if item in ("39", "49"):
        return style._replace(fg=None) if item == "39" else style._replace(bg=None)
    return None


@lru_cache(maxsize=4096)
def _change(terminal: Style | None, wanted: Style) -> str:
    """The shortest SGR that turns the terminal's style into `wanted` (a reset and the whole
    style when the terminal's is not known)."""
    whole = ["0", *wanted.codes()]
    codes = whole if terminal is None else min(_step(terminal, wanted), whole, key=lambda c: len(";".join(c)))
    return f"\x1b[{';'.join(codes)}m"


def _step(current: Style, wanted: Style) -> list[str]:
    """The SGR codes that turn `current` into `wanted`."""
    codes: list[str] = []
    removed = current.flags - wanted.flags
    flags_on = wanted.flags - current.flags
    if removed & {"1", "2"}:
        codes.append("22")  # bold and dim go off together
        flags_on |= wanted.flags & {"1", "2"}
    codes += [_OFF_CODE[flag] for flag in sorted(removed - {"1", "2"})]
    codes += sorted(flags_on)
    if wanted.fg != current.fg:
        codes.append(wanted.fg or "39")
    if wanted.bg != current.bg:
        codes.append(wanted.bg or "49")
    return codes


def whole_sequences(carried: str, output: str) -> tuple[str, str]:
    """(what can be read now, what to carry to the next write): a write may end inside an
    escape sequence, whose rest comes with the next one."""
    output = carried + output
    cut = _CUT.search(output)
    return (output[:cut.start()], output[cut.start():]) if cut else (output, "")


class StyleSteps:
    """Rewrites one terminal's output, write after write."""

    def __init__(self) -> None:
        self._terminal: Style | None = None  # the terminal's style; None: not known
        self._wanted: Style | None = None  # the style the output so far asks for
        self._carry = ""  # the start of an escape sequence a write ended in

    def __call__(self, output: str) -> str:
        output, self._carry = whole_sequences(self._carry, output)
        pieces: list[str] = []
        position = 0
        for match in _SGR.finditer(output):
            self._text(output[position:match.start()], pieces)
            position = match.end()
            wanted = after_sgr(self._wanted, match.group(1))
            if wanted is None:  # not understood: passed on as it is, and nothing assumed after it
                self._sync(pieces)
                pieces.append(match.group(0))
                self._terminal = None
            self._wanted = wanted
        self._text(output[position:], pieces)
        self._sync(pieces)  # each write leaves the terminal as the output asked
        return "".join(pieces)

    def _text(self, text: str, pieces: list[str]) -> None:
        if not text:
            return
        if not _MOVE.fullmatch(text):
            self._sync(pieces)
        pieces.append(text)

    def _sync(self, pieces: list[str]) -> None:
        wanted, terminal = self._wanted, self._terminal
        if wanted is None or wanted == terminal:
            return
        pieces.append(_change(terminal, wanted))
        self._terminal = wanted
