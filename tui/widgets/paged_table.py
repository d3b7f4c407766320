"""A table over a keyset-paged store query: never loads a whole list.

Textual's DataTable froze for 11 s when handed 100,000 rows. This one asks the store for a page
(100 rows by default) and fetches the next a screenful before the cursor reaches its end, so a list of
millions opens as fast as a list of ten. Rows are added to the table as pages arrive; the
DataTable itself renders only the visible lines.

End goes to the list's last page, not the last row loaded: the table then holds that page alone and
reads the pages above it as the cursor goes up (store/paging.py reads them along the same index,
the other way), as cheap at the bottom of 20,000,000 rows as at the top. Home goes back to the top.

An area shown again reloads its list inside `PagedTable.reshowing()`: the rows on the screen stay
until the first page arrives, and are left alone when it holds the same rows. Clearing at once
drew the list empty and then full again, two repaints of every line, on every switch of area,
which over a field link cost more than the switch itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from rich.cells import cell_len
from textual import events
from textual.binding import Binding
from textual.message import Message

from store.errors import MitraError
from store.paging import LAST_PAGE, Before, Cursor, Page
from tui.i18n import t
from tui.widgets.clipboard import copy_reference
from tui.widgets.fitting import cut_with_ellipsis, give_way
from tui.widgets.plain import DataTable
from tui.workers import ServiceCaller

Fetch = Callable[..., Awaitable[Page[Any]]]
# Set while an area that is shown again reloads (`PagedTable.reshowing`).
_RESHOWING: ContextVar[bool] = ContextVar("reshowing", default=False)


class PagedTable(ServiceCaller, DataTable):
    DEFAULT_CSS = """
    PagedTable { height: 1fr; }
    """
    BINDINGS = [
        # Vi-style movement; ids let the keymap remap them like every other key.
        Binding("j", "cursor_down", "", show=False, id="mitra.list.down"),
        Binding("k", "cursor_up", "", show=False, id="mitra.list.up"),
        # The first and last pages of the whole list (not just of the rows loaded).
        Binding("home,g,ctrl+home", "first_page", "keys.first_page", show=False, id="mitra.list.top"),
        Binding("end,G,ctrl+end", "last_page", "keys.last_page", show=False, id="mitra.list.bottom"),
        # Every list can be taken away, the same way (tui/widgets/export.py).
        Binding("ctrl+e", "export", "keys.export", id="mitra.list.export"),
        # The focused record's reference to the operator's own clipboard (OSC 52: works over SSH).
        Binding("y", "copy_reference", "keys.copy_reference", show=False, id="mitra.list.copy"),
    ]

    class Loaded(Message):
        """A page arrived; `total_rows` is how many rows the table now holds. `unchanged`: it was
        the first page of a reload that found the same rows as were shown (nothing redrawn)."""

        def __init__(self, table: PagedTable, total_rows: int, complete: bool, unchanged: bool = False) -> None:
            super().__init__()
            self.table = table
            self.total_rows = total_rows
            self.complete = complete
            self.unchanged = unchanged

    # How long rows shown before a reload stay while its first page is on the way: a list that
    # takes longer shows that it is loading (empty), never old rows as if they were current.
    STALE_FOR = 0.25

    @staticmethod
    @contextmanager
    def reshowing() -> Iterator[None]:
        """Loads started inside keep the rows on the screen until the first page arrives."""
        token = _RESHOWING.set(True)
        try:
            yield
        finally:
            _RESHOWING.reset(token)

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        render_row: Callable[[Any], tuple[str, Sequence[Any]]],
        *,
        page_size: int = 100,
        reference: Callable[[Any], str | None] | None = None,
        hide_below: Mapping[str, int] | None = None,
        gives_way: str | None = None,
        whole_through: str | None = None,
        **kwargs: Any,
    ) -> None:
        """`columns`: (key, catalog key of the label); `render_row(row)` -> (row key, cells).
        `reference(row)`: what `y` copies (an application or batch number, a card number); by
        default the first cell, which is the record's number in most lists.

        On small terminals (field staff's 80 columns) the columns that matter stay whole:
        `hide_below` leaves a column out while the table is narrower than the width given for it
        (exports still carry it), and the `gives_way` column (a name) is cut, with an ellipsis,
        before any column up to `whole_through` (by default the last) would be; columns after
        that one may go past the edge (the table scrolls sideways)."""
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._column_spec = list(columns)
        self._hide_below = dict(hide_below or {})
        self._gives_way = gives_way
        self._whole_through = whole_through
        self._shown = list(range(len(self._column_spec)))  # indexes into _column_spec
        self._natural = self._label_widths()  # each column's widest cell so far
        self._render_row = render_row
        self._page_size = page_size
        self._reference = reference or (lambda row: str(render_row(row)[1][0]))
        self._fetch: Fetch | None = None
        self._cursor: Cursor | None = None
        self._complete = True  # the list's last row is loaded
        # The cursor of the page above the first row loaded; None at the top. Only a list read
        # upward from its last page (End) has rows above it that are not loaded.
        self._head: Before | None = None
        self._loading_page = False
        self._generation = 0
        self._keep: str | None = None  # the row key to put the cursor back on (load's keep_cursor)
        self._stale = False  # the rows shown are from before the load under way (`reshowing`)
        self.rows_by_key: dict[str, Any] = {}

    @property
    def page_size(self) -> int:
        return self._page_size

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        """(Re)create the columns with labels in the current language, those the width allows,
        and put back the rows already loaded."""
        selected = self.selected_row()
        self._shown = self._columns_for(self.size.width)
        self.clear(columns=True)
        for index in self._shown:
            key, label = self._column_spec[index]
            self.add_column(t(label), key=key)
            self._natural[index] = max(self._natural[index], cell_len(t(label)))
        for key, row in self.rows_by_key.items():
            self.add_row(*self._cells(self._render_row(row)[1]), key=key)
        if selected is not None:
            self.move_cursor(row=self.get_row_index(self._render_row(selected)[0]))
        self._fit()

    def _label_widths(self) -> list[int]:
        return [cell_len(t(label)) for _key, label in self._column_spec]

    def _columns_for(self, width: int) -> list[int]:
        return [index for index, (key, _label) in enumerate(self._column_spec)
                if width == 0 or width >= self._hide_below.get(key, 0)]

    def _cells(self, cells: Sequence[Any]) -> list[Any]:
        """A row's cells for the columns shown, noting how wide each column wants to be."""
        shown = []
        for index in self._shown:
            cell = cells[index]
            self._natural[index] = max(self._natural[index], cell_len(str(cell)))
            shown.append(cut_with_ellipsis(cell) if self._column_spec[index][0] == self._gives_way else cell)
        return shown

    def on_resize(self, _event: events.Resize) -> None:
        if self._columns_for(self.size.width) != self._shown:
            self.relabel()
        else:
            self._fit()

    def _fit(self) -> None:
        if self._gives_way is not None:
            widths = {self._column_spec[index][0]: self._natural[index] for index in self._shown}
            give_way(self, widths, self._gives_way, self._whole_through)

    # How far a reload looks for the row the cursor was on before giving up (pages of the list).
    KEEP_WITHIN_PAGES = 10

    def load(self, fetch: Fetch, *, keep_cursor: bool = False) -> None:
        """Start over with a new query: `fetch(db, actor, cursor, limit) -> Page`. With
        `keep_cursor` (a list refreshed after an action on its row) the cursor goes back to the
        row it was on once that row is loaded again, not to the top."""
        selected = self.selected_row() if keep_cursor else None
        self._keep = self._render_row(selected)[0] if selected is not None else None
        self._fetch = fetch
        self._generation += 1
        self._cursor = None
        self._complete = False
        self._head = None
        # A page still on its way belongs to the old query (its exclusive worker is cancelled by
        # the new fetch): without this, the new query would wait for it forever.
        self._loading_page = False
        if _RESHOWING.get() and self.row_count:
            self._stale = True
            generation = self._generation
            self.set_timer(self.STALE_FOR, lambda: self._drop_stale(generation, only_if_stale=True))
        else:
            self._drop_stale(self._generation)
        self._next_page()

    def _drop_stale(self, generation: int, *, only_if_stale: bool = False) -> None:
        """Empty the table for the load of `generation` (unless a newer load has begun, or, with
        `only_if_stale`, its first page has already replaced the rows)."""
        if generation != self._generation or (only_if_stale and not self._stale):
            return
        self._stale = False
        self.rows_by_key.clear()
        self._natural = self._label_widths()  # the widths of this query's rows, as they arrive
        self.clear()

    def _same_as_shown(self, page: Page[Any]) -> bool:
        """The page holds exactly the rows the table shows, drawn the same."""
        if len(page.rows) != self.row_count:
            return False
        shown = [self._render_row(row) for row in self.rows_by_key.values()]
        return [(key, list(cells)) for key, cells in shown] == [
            (key, list(cells)) for key, cells in map(self._render_row, page.rows)
        ]

    def reload(self, *, keep_cursor: bool = False) -> None:
        """Read the list again: from the top, or, when the operator went to its end, its last page."""
        if self._fetch is None:
            return
        if self._head is not None:
            self._keep = None
            if keep_cursor and (selected := self.selected_row()) is not None:
                self._keep = self._render_row(selected)[0]
            self._read_last_page()
        else:
            self.load(self._fetch, keep_cursor=keep_cursor)

    def _next_page(self) -> None:
        if self._fetch is None or self._complete or self._loading_page:
            return
        self._fetch_page(self._cursor, self._add_page)

    def _fetch_page(self, cursor: Cursor | None, then: Callable[[int, Page[Any]], None]) -> None:
        """Ask the store for the page at `cursor`, one at a time; `then(generation, page)` when
        it comes (a page of an older query is told by its generation)."""
        assert self._fetch is not None
        self._loading_page = True
        generation = self._generation
        self.call(
            self._fetch, cursor, self._page_size,
            then=lambda page: then(generation, page),
            on_error=self._failed,
            group=f"page-{id(self)}",
        )

    def _read_last_page(self) -> None:
        self._generation += 1
        self._fetch_page(LAST_PAGE, self._show_last_page)

    def _show_last_page(self, generation: int, page: Page[Any]) -> None:
        """The list's last page, alone in the table, the cursor on its last row (or on the row it
        was on, for a reload)."""
        if generation != self._generation:
            return
        # The state first: the cursor moves while the table is filled, and must not read ahead
        # from the rows that were there before (`_loading_page` stays set until the end).
        self._cursor, self._complete, self._head = None, True, page.previous_cursor
        self._drop_stale(generation)
        self._add_rows(page.rows)
        self._fit()
        if self._keep is not None and self._keep in self.rows_by_key:
            self.move_cursor(row=self.get_row_index(self._keep))
        else:
            self.move_cursor(row=self.row_count - 1)
        self._keep = None
        self._loading_page = False
        if self._head is None:  # the whole list fits in this page
            self.post_message(self.Loaded(self, self.row_count, True))
        self._read_ahead(self.cursor_row)

    def _previous_page(self) -> None:
        if self._fetch is None or self._head is None or self._loading_page:
            return
        self._fetch_page(self._head, self._prepend_page)

    def _prepend_page(self, generation: int, page: Page[Any]) -> None:
        """The page above the rows loaded, put above them with the cursor and the view where
        they were."""
        if generation != self._generation:
            return
        self._head = page.previous_cursor
        below = self.rows_by_key
        self.rows_by_key = {}
        self._add_rows(page.rows, besides=below)
        added = self.row_count - len(below)
        self.rows_by_key.update(below)  # in the table's order, the rows above first
        self._move_to_top(added)
        self._fit()
        self.move_cursor(row=self.cursor_row + added, scroll=False)
        self.call_after_refresh(self.scroll_to, y=self.scroll_y + added, animate=False)
        self._loading_page = False
        if self._head is None:  # the top reached: the whole list is loaded
            self.post_message(self.Loaded(self, self.row_count, True))

    def _move_to_top(self, count: int) -> None:
        """Put the last `count` rows added above the others. A DataTable only appends: filling it
        again with the new rows first measured every cell again (5 ms per 100 rows held, on each
        page read upward). This places the rows as DataTable's own `sort` does, by setting where
        each row key goes (textual is pinned in pyproject.toml; the console tests read the order
        back)."""
        if count == 0:
            return
        locations, total = self._row_locations, self.row_count
        places = {key: (index + count) % total for key in locations if (index := locations.get(key)) is not None}
        self._row_locations = type(locations)(places)
        self._update_count += 1
        self.refresh()

    def _add_rows(self, rows: Sequence[Any], besides: Mapping[str, Any] | None = None) -> None:
        """Add these rows below those in the table, but for any it holds (or are in `besides`):
        a row that moved in the list's order since its page was read is not shown twice."""
        for row in rows:
            key, cells = self._render_row(row)
            if key in self.rows_by_key or (besides is not None and key in besides):
                continue
            self.rows_by_key[key] = row
            self.add_row(*self._cells(cells), key=key)

    def _failed(self, error: MitraError) -> None:
        self._loading_page = False
        self.app.show_error(error)

    def _add_page(self, generation: int, page: Page[Any]) -> None:
        if generation != self._generation:
            return  # a page of an older query: the newer one has its own fetch under way
        self._loading_page = False
        if self._stale:
            if self._same_as_shown(page):
                self._stale = False
                self.rows_by_key.update((self._render_row(row)[0], row) for row in page.rows)  # newer versions
                self._cursor = page.next_cursor
                self._complete = page.next_cursor is None
                self.post_message(self.Loaded(self, self.row_count, self._complete, unchanged=True))
                self._back_to_kept_row()
                return
            self._drop_stale(generation)
        self._add_rows(page.rows)
        self._cursor = page.next_cursor
        self._complete = page.next_cursor is None
        self._fit()
        self.post_message(self.Loaded(self, self.row_count, self._complete))
        self._back_to_kept_row()

    def _back_to_kept_row(self) -> None:
        if self._keep is None:
            return
        if self._keep in self.rows_by_key:
            self.move_cursor(row=self.get_row_index(self._keep))
            self._keep = None
        elif self._complete or self.row_count >= self.KEEP_WITHIN_PAGES * self._page_size:
            self._keep = None  # gone from the list (or far down it): the top it is
        else:
            self._next_page()

    @property
    def complete(self) -> bool:
        """Every row of the list is loaded."""
        return self._complete and self._head is None

    def selected_row(self) -> Any | None:
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.rows_by_key.get(key) if key is not None else None  # every row is added with its key

    def watch_cursor_coordinate(self, old, new) -> None:
        super().watch_cursor_coordinate(old, new)
        # The next page is asked for a screenful ahead: the PgDn that reaches the last row shown
        # finds the rows after it already there, not a stop while they are fetched.
        self._read_ahead(new.row)

    def _read_ahead(self, row: int) -> None:
        ahead = 10 + self.scrollable_content_region.height
        if row >= self.row_count - ahead:
            self._next_page()
        if row < ahead:
            self._previous_page()

    @property
    def export_name(self) -> str:
        """The list's name in files and in the audit trail: its id ("participants-table" ->
        "participants")."""
        return (self.id or "list").removesuffix("-table").replace("-", "_")

    def action_export(self) -> None:
        if self._fetch is None:
            return
        from tui.widgets.export import ExportScreen

        header = [t(label) for _key, label in self._column_spec]
        self.app.push_screen(ExportScreen(self.export_name, header, self._fetch, self._render_row))

    def action_copy_reference(self) -> None:
        row = self.selected_row()
        copy_reference(self.app, self._reference(row) if row is not None else None)

    def action_first_page(self) -> None:
        if self._head is not None and self._fetch is not None:
            self.load(self._fetch)  # read from the top again
        else:
            self.move_cursor(row=0)

    def action_last_page(self) -> None:
        if self._complete or self._fetch is None:
            self.move_cursor(row=self.row_count - 1)
        else:
            self._keep = None
            self._read_last_page()

