"""Fewer bytes for the same picture: cells that already show what a repaint would draw are not
sent again.

Textual repaints a widget's whole region when anything in it changes, and a region's lines are
written out whole: the next application in the review redraws every label, border and blank
line of the screen, the same as they were, 11 KB at 80x24 over a link that may be slow mobile
data. `UnchangedSpans` remembers the character and style of every cell the output has drawn. A
piece of a line (from a cursor move to the next) whose cells all show what it would draw is left
out, its style changes passed on so that what follows is drawn as before; a piece mostly
unchanged is sent as its changed runs, each after a move. The cursor is put back where the output
would have left it before anything else is written, and at the end of every write.

Only what it understands is left out: a control character, an escape sequence it does not know
(an erase, a scroll), a style it cannot follow or a wide character cut in half makes it forget
what it remembered there, and everything else passes unchanged and in order. A resized terminal,
or Ctrl+L, forgets it all (`forget`, called by the driver). tests/test_unchanged_spans.py compares
the cells, and the cursor, on a VT100 screen after every write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import ne

from rich.cells import cell_len

from tui.terminal_output import Style, after_sgr, whole_sequences

_TOKEN = re.compile(
    r"(?P<move>\x1b\[(?P<row>\d*)(?:;(?P<column>\d*))?H)"
    r"|(?P<style>\x1b\[(?P<params>[0-9;]*)m)"
    r"|(?P<mode>\x1b\[\?[0-9;]*[hl]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\))"  # modes, titles, the clipboard: no cells
    r"|(?P<other>\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|[^\[\]]))"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What leaves cells and cursor alone: the modes of the cursor's visibility, synchronised output,
# the mouse, pasting, focus and size reports; titles and the clipboard; questions to the terminal
# (its modes, attributes, keyboard protocol) and the cursor's shape. Any other mode (the alternate
# screen, line wrapping) may change every cell.
_CELLS_KEPT = re.compile(
    r"\x1b\[\?(?:25|2026|100[0-6]|1015|2004|2048)[hl]|\x1b\].*"
    r"|\x1b\[[?>=<]?[0-9;]*\$p|\x1b\[[>=<][0-9;]*[a-zA-Z]|\x1b\[[0-9;]*[cn]|\x1b\[[0-9]* q"
)
_ERASE = re.compile(r"\x1b\[[0-2]?[JK]")  # cells change, the cursor stays, nothing scrolls


@dataclass
class _Piece:
    """A piece of a line being read: from a cursor move to the next move or other sequence."""

    row: int
    column: int
    style: Style | None  # the style in force where it starts
    parts: list[str] = field(default_factory=list)  # its style changes and text, in order
    styles: list[str] = field(default_factory=list)  # its style changes alone
    width: int = 0


_GAP = 4  # unchanged cells between two changed ones rewritten rather than moved over (a move is ~8 bytes)


def _cells(piece: _Piece) -> tuple[dict[int, tuple[Style, str]], bool] | None:
    """column -> (style, character) the piece draws (a wide character's second column holds ""),
    and whether it draws a wide character; None when a style in it is not one that can be followed."""
    style, column, wide = piece.style, piece.column, False
    cells: dict[int, tuple[Style, str]] = {}
    for part in piece.parts:
        if part.startswith("\x1b"):
            style = after_sgr(style, part[2:-1])
            continue
        if style is None:
            return None
        if part.isascii():  # no control characters reach a piece: one cell each, set in one go
            cells.update(zip(range(column, column + len(part)), zip(repeat(style), part)))
            column += len(part)
            continue
        for character in part:
            width = cell_len(character)
            if width == 0:
                return None  # a combining mark: drawn with the character before it
            cells[column] = (style, character)
            if width == 2:
                cells[column + 1] = (style, "")
                wide = True
            column += width
    return cells, wide


def _cut_edges(cells: dict[int, tuple[Style, str]], start: int, end: int) -> None:
    """Forget a wide character cut in half at either edge of columns start..end-1 of a row."""
    if cells.get(start, (None, None))[1] == "":
        cells.pop(start - 1, None)
    if cells.get(end, (None, None))[1] == "":
        cells.pop(end, None)


def _sgr(style: Style) -> str:
    return f"\x1b[{';'.join(['0', *style.codes()])}m"


class UnchangedSpans:
    """Rewrites one terminal's output, write after write."""

    def __init__(self, lines: int | None = None) -> None:
        # The terminal's height: a line's end on its last line scrolls the screen, elsewhere it
        # only moves the cursor (the driver keeps it up to date; unknown, every line end is sent).
        self.lines = lines
        self._style: Style | None = None  # the style the output has asked for; None: not known
        self._position: tuple[int, int] | None = None  # (row, column) the output has put the cursor at
        self._cursor: tuple[int, int] | None = None  # where the terminal's cursor is, when known
        self._rows: dict[int, dict[int, tuple[Style, str]]] = {}  # row -> column -> (style, character) shown
        self._piece: _Piece | None = None
        self._carry = ""

    def forget(self) -> None:
        """The terminal's cells are no longer known (resized, cleared, restarted)."""
        self._rows.clear()

    def __call__(self, output: str) -> str:
        output, self._carry = whole_sequences(self._carry, output)
        out: list[str] = []
        position = 0
        for match in _TOKEN.finditer(output):
            kind, start = match.lastgroup, match.start()  # (the outer group closes last: its name)
            if start > position:
                text, piece = output[position:start], self._piece
                if piece is not None and text.isascii() and text.isprintable():  # most text: cells of a piece
                    piece.parts.append(text)
                    piece.width += len(text)
                else:
                    self._text(text, out, before_move=kind == "move")
            position = match.end()
            if kind == "move":
                self._finish(out)
                row, column = int(match.group("row") or 1), int(match.group("column") or 1)
                self._piece = _Piece(row, column, self._style)
            elif kind == "style":
                sgr = match.group(0)
                self._style = after_sgr(self._style, sgr[2:-1])
                if self._piece is not None:
                    self._piece.parts.append(sgr)
                    self._piece.styles.append(sgr)
                else:
                    out.append(sgr)
            else:
                self._finish(out)
                self._catch_up(out)
                out.append(match.group(0))
                if _CELLS_KEPT.fullmatch(match.group(0)):
                    continue
                self.forget()
                if kind == "other":  # an erase, a scroll ...: cells and cursor not known
                    self._position = self._cursor = None
                    if not _ERASE.fullmatch(match.group(0)):
                        self.lines = None  # scroll margins, perhaps: a line end may scroll anywhere
        self._text(output[position:], out, before_move=False)
        self._finish(out)
        self._catch_up(out)  # each write leaves the cursor where the output asked
        return "".join(out)

    def _text(self, text: str, out: list[str], *, before_move: bool) -> None:
        if not text:
            return
        if before_move and len(text) > 1 and text.endswith("\n") and not _CONTROL.search(text[:-1]):
            self._text(text[:-1], out, before_move=False)  # the line's last cells, then its end
            text = "\n"
        row = self._piece.row if self._piece is not None else self._position[0] if self._position else None
        if before_move and text == "\n" and self.lines is not None and row is not None and row < self.lines:
            self._finish(out)
            return  # a line's end right before the next line's move: the move places the cursor
        if self._piece is not None and not _CONTROL.search(text):
            self._piece.parts.append(text)
            self._piece.width += cell_len(text)
            return
        self._finish(out)
        self._catch_up(out)
        out.append(text)
        if _CONTROL.search(text) or self._position is None:
            self._position = self._cursor = None
            self.forget()
        else:  # text that goes on where the cursor is: what was remembered under it is gone
            row, column = self._position
            self._overwritten(row, column, column + cell_len(text))
            self._position = self._cursor = (row, column + cell_len(text))

    def _finish(self, out: list[str]) -> None:
        """Write the piece being read: whole, or only its runs of cells that show something else
        now, or (its cells all showing it already) only its style changes."""
        piece, self._piece = self._piece, None
        if piece is None:
            return
        end = piece.column + piece.width
        drawn = _cells(piece)
        row = self._rows.setdefault(piece.row, {})
        if not piece.width:  # nothing drawn: its style changes alone, the move made when needed
            out.extend(piece.parts)
            self._position = (piece.row, piece.column)
            return
        if drawn is None:  # a style it cannot follow
            out.append(f"\x1b[{piece.row};{piece.column}H")
            out.extend(piece.parts)
            self._overwritten(piece.row, piece.column, end)
            self._position = self._cursor = (piece.row, end)
            return
        cells, wide = drawn
        # The columns (in order) whose cell shows something else now; in C, a page's worth of cells
        # on every repaint of a list.
        changed = list(compress(cells, map(ne, map(row.get, cells), cells.values())))
        if wide:  # a wide character is written whole: a change in its second column rewrites its first
            changed = sorted({column - 1 if cells[column][1] == "" else column for column in changed})
        if len(changed) * 2 > len(cells):  # mostly new: as it came (its own style changes are the shortest)
            out.append(f"\x1b[{piece.row};{piece.column}H")
            out.extend(piece.parts)
            self._cursor = (piece.row, end)
        else:
            written_to = self._changed_runs(piece.row, changed, cells, out)
            if written_to is not None:  # (None: every cell was as shown, nothing written, the cursor stays)
                self._cursor = (piece.row, written_to)
            out.extend(piece.styles)  # so that the style after the piece is the one the output asked for
        _cut_edges(row, piece.column, end)  # (the columns between are all drawn anew just below)
        row.update(cells)
        self._position = (piece.row, end)

    def _changed_runs(self, row: int, changed: list[int], cells: dict[int, tuple[Style, str]],
                      out: list[str]) -> int | None:
        """Write the changed cells, each run after a move (cells left alone between two changes
        are written again when that is shorter than a move); the column after the last cell
        written (where the cursor is now), None when none was."""
        written_to, current = None, None
        for column in changed:
            if written_to is None or column - written_to > _GAP:
                out.append(f"\x1b[{row};{column}H")
                written_to = column
            while written_to <= column:
                style, text = cells[written_to]
                if text:  # not the second half of a wide character
                    if style != current:
                        out.append(_sgr(style))
                        current = style
                    out.append(text)
                written_to += 1
            if cells.get(written_to, (None, None))[1] == "":
                written_to += 1  # past the second half of a wide character just written, as the cursor is
        return written_to

    def _overwritten(self, row: int, start: int, end: int) -> None:
        """Columns start..end-1 are written over: what they showed is gone, and so is a wide
        character cut in half at either edge (terminals differ in what is left of it)."""
        cells = self._rows.get(row)
        if cells:
            _cut_edges(cells, start, end)
            for column in range(start, end):
                cells.pop(column, None)

    def _catch_up(self, out: list[str]) -> None:
        if self._position is not None and self._cursor != self._position:
            out.append(f"\x1b[{self._position[0]};{self._position[1]}H")
            self._cursor = self._position

