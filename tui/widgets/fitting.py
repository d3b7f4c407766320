"""Tables on small terminals (field staff's 80 columns): one column gives way, cut with an
ellipsis, so that the columns that matter (an amount, a status) stay whole. A name can be read
from its first words; "Rp950,00" cannot be read at all.

`give_way` sizes the column; `FittedTable` is a DataTable that does it for itself. PagedTable
(tui/widgets/paged_table.py) keeps the widths of its pages as they arrive and calls `give_way`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets.data_table import ColumnKey, RowKey

from tui.widgets.plain import DataTable

# The narrowest a column that gives way is cut to: still enough to tell names apart.
GIVES_WAY_MIN = 12


def cut_with_ellipsis(cell: Any) -> Any:
    return Text(cell, overflow="ellipsis", no_wrap=True) if isinstance(cell, str) else cell


def give_way(table: DataTable[Any], widths: Mapping[str, int], gives_way: str, whole_through: str | None = None) -> None:
    """Give column `gives_way` what the others up to `whole_through` (by default the last) leave
    of the table's width, up to its widest cell; columns after `whole_through` may pass the edge
    (the table scrolls sideways). `widths`: the widest cell or label of each column shown, by
    key, in the table's order."""
    if gives_way not in widths:
        return
    keys = list(widths)
    last = keys.index(whole_through) if whole_through is not None and whole_through in widths else len(keys) - 1
    padding = 2 * table.cell_padding
    others = sum(widths[key] + padding for key in keys[: last + 1] if key != gives_way)
    room = table.scrollable_content_region.width - others - padding
    wanted = widths[gives_way]
    width = max(min(wanted, room), min(wanted, GIVES_WAY_MIN))
    column = table.columns[ColumnKey(gives_way)]
    if column.auto_width or column.width != width:
        column.auto_width, column.width = False, width
        # A fixed width is not measured again by the table itself: ask it to lay out anew.
        table._require_update_dimensions = True
        table.refresh()


class FittedTable(DataTable[Any]):
    """A DataTable filled at once (a summary, not a paged list) whose `gives_way` column is cut
    before the columns up to `whole_through` are."""

    def __init__(self, *, gives_way: str, whole_through: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gives_way = gives_way
        self._whole_through = whole_through

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        keys = [column.key.value for column in self.ordered_columns]
        fitted = [cut_with_ellipsis(cell) if name == self._gives_way else cell for name, cell in zip(keys, cells)]
        return super().add_row(*fitted, height=height, key=key, label=label)

    def fit(self) -> None:
        widths = {
            str(key.value): max([cell_len(column.label.plain), *(cell_len(str(cell)) for cell in self.get_column(key))])
            for key, column in self.columns.items()
        }
        give_way(self, widths, self._gives_way, self._whole_through)

    def on_resize(self, _event: events.Resize) -> None:
        self.fit()
