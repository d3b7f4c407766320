"""A repaint of cells that already show what it would draw is not sent (tui/unchanged_spans.py);
whatever the output, the terminal ends every write with the same cells and the cursor in the same
place, compared on a VT100 screen (pyte)."""

from __future__ import annotations

import random

import pyte

from tui.terminal_output import StyleSteps
from tui.unchanged_spans import UnchangedSpans

COLUMNS, LINES = 30, 6
STYLES = ["\x1b[0m", "\x1b[1m", "\x1b[38;5;214m", "\x1b[48;5;17m", "\x1b[7m", "\x1b[22m", "\x1b[39;49m", "\x1b[m",
          "\x1b[53m"]  # 53 (overline) is a style neither rewriter follows
TEXTS = ["a", "Rp1.000", " ", "  ", "─" * 3, "全", "é", "Budi"]
OTHER = ["\x1b[?25l", "\x1b[?25h", "\x1b[?2026h", "\x1b[?2026l", "\x1b]52;c;YWJj\x07", "\x1b[K", "\x1b[2J", "\r\n",
         "x", "\x1b[2;3r"]


class Terminal:
    def __init__(self) -> None:
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.Stream(self.screen)

    def shows(self, output: str) -> tuple:
        self.stream.feed(output)
        cells = [[self.screen.buffer[y][x] for x in range(COLUMNS)] for y in range(LINES)]
        return cells, (self.screen.cursor.x, self.screen.cursor.y)


def test_the_same_frame_again_sends_only_what_changed():
    skip = UnchangedSpans(lines=LINES)
    frame = "\x1b[0m\x1b[1;1H\x1b[1mTitle\x1b[0m\x1b[2;1H\x1b[48;5;17m  Budi  \x1b[0m\n\x1b[3;1HRp1.000"
    assert skip(frame) == frame.replace("\n", "")  # the first time, all of it
    again = skip(frame)
    # Nothing sent but style changes: the cursor is still where the first write left it.
    assert "Budi" not in again and "Title" not in again and "H" not in again
    # A piece changed in a few cells: only those are sent, after a move to the first.
    changed = StyleSteps()(skip(frame.replace("Budi", "Bobi")))
    assert "\x1b[2;4H\x1b[0;48;5;17mob" in changed and "Title" not in changed and "Rp" not in changed
    # Mostly changed: as it came.
    assert "\x1b[1;1H\x1b[1mTotal" in skip(frame.replace("Title", "Total"))
    # Cells written over by other text are sent again (the two of "Rp1.000" that were).
    skip("\x1b[3;3Hxx")
    assert "\x1b[3;3H\x1b[0m1.\x1b[3;8H" in skip(frame)
    skip.forget()  # a resize: nothing is known
    assert skip(frame) == frame.replace("\n", "")
    # A move after which nothing is drawn is not sent (its style changes are), nor is one that
    # only ends a write: the cursor is put where the output left it, in one move.
    assert skip("\x1b[1;9H\x1b[0m\x1b[3;3Hxx") == "\x1b[0m\x1b[3;3Hxx"
    assert skip("\x1b[2;2H\x1b[1m\x1b[4;4H") == "\x1b[1m\x1b[4;4H"
    assert skip("\x1b[4;4H\x1b[0m") == "\x1b[0m"  # the cursor is there already


def test_any_output_leaves_the_same_cells_and_cursor_after_every_write():
    rng = random.Random(15)
    saved = 0
    for _ in range(1000):
        skip, restyle = UnchangedSpans(lines=LINES), StyleSteps()
        plain, rewritten = Terminal(), Terminal()
        pieces = [_piece(rng) for _ in range(6)]
        for _frame in range(rng.randint(2, 6)):
            output = _frame_output(rng, pieces)
            cuts = sorted(rng.sample(range(len(output) + 1), min(len(output) + 1, rng.randint(0, 3))))
            for start, end in zip([0, *cuts], [*cuts, len(output)]):
                write = output[start:end]
                sent = restyle(skip(write))
                saved += len(write) - len(sent)
                assert rewritten.shows(sent) == plain.shows(write), repr(output)
    assert saved > 0


def _piece(rng: random.Random) -> str:
    """A cursor move and styled text that fits the line, as Textual writes a piece of a line."""
    row, column = rng.randint(1, LINES), rng.randint(1, COLUMNS - 10)
    parts, width = [f"\x1b[{row};{column}H"], 0
    if rng.random() < 0.1:  # a move and nothing drawn (where Textual leaves the cursor), perhaps a style
        return parts[0] + rng.choice(["", *STYLES])
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.5:
            parts.append(rng.choice(STYLES))
        text = rng.choice(TEXTS)
        if width + len(text) * 2 > COLUMNS - column:
            break
        parts.append(text)
        width += len(text) * 2
    return "".join(parts)


def _frame_output(rng: random.Random, pieces: list[str]) -> str:
    """Mostly pieces written before (a repaint), some new or moved, and now and then something
    else: an erase, a mode, text where the cursor is, a line's end before a move."""
    out = []
    for _ in range(rng.randint(2, 8)):
        if rng.random() < 0.25:
            pieces[rng.randrange(len(pieces))] = _piece(rng)
        out.append(rng.choice(pieces))
        if rng.random() < 0.15:
            out.append(rng.choice(OTHER))
        if rng.random() < 0.2:
            out.append("\n")
    return "".join(out)
