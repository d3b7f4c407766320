"""`o` on a list: the next of the orders its store service offers (store/sorting.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.i18n import t


class SortChoice:
    """For an area with a list: `SORTS` names the store's orders (the first is the default),
    `SORT_TEXT` the catalog prefix of their words ("providers.sort.": "providers.sort.name" is
    "by name"); the area reloads its list on a
    change and passes `self.sort` to its service."""

    SORTS: tuple[str, ...] = ()
    SORT_TEXT = ""
    _sort_index = 0

    @property
    def sort(self) -> str:
        return self.SORTS[self._sort_index]

    def sort_text(self) -> str:
        return t(f"{self.SORT_TEXT}{self.sort}")

    if TYPE_CHECKING:
        # Each area brings its own (it loads the list again, in the order now chosen); declared
        # here for the type checker only, so that nothing could shadow the area's.
        def reload(self) -> None: ...

    def action_next_sort(self) -> None:
        self._sort_index = (self._sort_index + 1) % len(self.SORTS)
        self.reload()
