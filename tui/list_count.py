"""A list's status line saying how many rows the list holds, for lists that may hold millions.

The first page is shown at once ("100 events shown, counting all ..."); the total is counted behind
it by a store service in a worker (store/counting.py: exact, or an estimate marked as one), so the
screen never waits for a count. A reload cancels the count of the old filters, which must not land.
Message ids: `<prefix>.shown`, `.counting`, `.counted`, `.counted_about`, in every catalog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from store.counting import Count
from tui.i18n import t
from tui.money import about, group_digits
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import Static


def cancel_count(area: Any, prefix: str) -> None:
    area.workers.cancel_group(area, f"{prefix}-count")


def show_loaded(
    area: Any, message: PagedTable.Loaded, status: Static, prefix: str,
    count: Callable[..., Awaitable[Count]], *args: Any, order: str = "",
) -> None:
    """On a page loaded: the rows shown when the list holds no more, else the first page's
    rows and the total counted behind them by `count(db, actor, *args)`; then the list's
    `order` ("by name"), when it has a choice of them."""
    tail = f" · {order}" if order else ""
    if message.complete:
        _show(status, t(f"{prefix}.shown", count=group_digits(message.total_rows)) + tail)
    elif message.total_rows <= message.table.page_size:
        if not message.unchanged:  # else the count shown stays until the new one replaces it
            _show(status, t(f"{prefix}.counting", count=group_digits(message.total_rows)) + tail)
        area.call(count, *args, then=lambda counted: _show_count(status, prefix, counted, tail),
                  group=f"{prefix}-count")


def _show_count(status: Static, prefix: str, counted: Count, tail: str) -> None:
    if counted.exact:
        _show(status, t(f"{prefix}.counted", count=group_digits(counted.value)) + tail)
    else:
        _show(status, t(f"{prefix}.counted_about", count=about(counted.value)) + tail)


def _show(status: Static, text: str) -> None:
    """Update the line only when its text changes: an update redraws it, and over a field link
    every redrawn line is bytes."""
    if status.content != text:
        status.update(text)
