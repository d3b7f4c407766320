"""The console's text widgets, which show text as it was typed.

Textual reads a `str` as content markup in a Static, a Label, a DataTable cell, an option's prompt
and a notification. Mitra's strings are data (a legal name from an application file, a note a
reviewer typed) and catalog sentences that hold no markup. Read as markup, "[/x]" in a note ended
the console in a MarkupError, "[b]" vanished from a name, and "[@click=app.quit]" made a name a
link that runs an action. Here a `str` is plain text; text that wants a style is built as Rich
`Text` (see `bold`). tests/test_plain_text.py keeps the screens on these widgets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from rich.text import Text
from textual import widgets
from textual.widgets.data_table import CellType, ColumnKey, RowKey


def plain(value: Any) -> Any:
    """A `str` as a Text that no markup parser reads; anything else as it is."""
    return Text(value) if isinstance(value, str) else value


def bold(label: str, value: str) -> Text:
    """'label: value' with the label in bold, both shown as typed."""
    return Text.assemble((label, "bold"), ": ", value)


class Static(widgets.Static):
    def __init__(self, content: Any = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(content, markup=markup, **kwargs)


class Label(widgets.Label):
    def __init__(self, content: Any = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(content, markup=markup, **kwargs)


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
