"""The console's text widgets, which show text as it was typed.

Textual reads a `str` as content markup in a Static, a Label, a DataTable cell, an option's prompt
and a notification. Mitra's strings are data (a legal name from an application file, a note a
reviewer typed) and catalog sentences that hold no markup. Read as markup, "[/x]" in a note ended
the console in a MarkupError, "[b]" vanished from a name, and "[@click=app.quit]" made a name a
link that runs an action. Here a `str` is plain text; text that wants a style is built as Rich
`Text` (see `bold`). tests/test_plain_text.py keeps the screens on these widgets.

Neither reads control characters away: an ESC in a name (from a database login, or pasted) reached
the operator's terminal as the start of an escape sequence, which can clear the screen or write
the clipboard of a field officer over SSH. Shown text has each control character but the line
break and the tab as U+FFFD, so the operator sees that something is there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

from rich.text import Text
from textual import widgets
from textual.widgets.data_table import CellType, ColumnKey, RowKey


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value: str) -> str:
    """`value` with every control character but the line break and the tab as U+FFFD."""
    # Nearly every value is printable (one pass in C), and then holds no control character.
    return value if value.isprintable() else _CONTROL.sub("\ufffd", value)


def plain(value: Any) -> Any:
    """A `str` as a Text that no markup parser reads, and a Text, without control characters
    (one for one: its styles keep their places); anything else as it is."""
    if isinstance(value, str):
        return Text(printable(value))
    if isinstance(value, Text) and not value.plain.isprintable() and _CONTROL.search(value.plain):
        value = value.copy()
        value.plain = printable(value.plain)
    return value


def bold(label: str, value: str) -> Text:
    """'label: value' with the label in bold, both shown as typed."""
    return Text.assemble((label, "bold"), ": ", value)


class _ShownAsTyped:
    """For a Static or a Label: its content is `plain`, when made and at each update."""

    def __init__(self, content: Any = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(plain(content), markup=markup, **kwargs)  # type: ignore[call-arg]  # the widget's

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        super().update(plain(content), layout=layout)  # type: ignore[misc]  # the widget's


class Static(_ShownAsTyped, widgets.Static):
    pass


class Label(_ShownAsTyped, widgets.Label):
    pass


class OptionList(widgets.OptionList):
    def __init__(self, *content: Any, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(*content, markup=markup, **kwargs)


SelectType = TypeVar("SelectType")


def _plain_options(options: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [(plain(prompt), value) for prompt, value in options]


class Select(widgets.Select[SelectType]):
    """A Select whose options' prompts (a platform's name, a wave's) are shown as typed."""

    def __init__(self, options: Iterable[tuple[Any, Any]] = (), **kwargs: Any) -> None:
        super().__init__(_plain_options(options), **kwargs)

    def set_options(self, options: Iterable[tuple[Any, Any]]) -> None:
        super().set_options(_plain_options(options))


class DataTable(widgets.DataTable[CellType]):
    """A DataTable whose `str` cells are shown as typed."""

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        return super().add_row(*(plain(cell) for cell in cells), height=height, key=key, label=label)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, plain(value), update_width=update_width)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures new rows when idle, and forgets the rows it drew before (at the
        # column labels' widths) only once the resize that follows is handled. A screen drawn in
        # between, on a loaded machine, kept them: the platforms list showed its header and first
        # row cut to "buka", the rest whole (Textual 8.2). Measured, every row is drawn anew.
        super()._update_dimensions(new_rows)
        self._clear_caches()
