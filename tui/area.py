"""The base of every area of the console (Dashboard, Applications, ... Audit)."""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Input

from tui.gating import PermissionGate
from tui.i18n import t
from tui.widgets.plain import Static
from tui.workers import ServiceCaller


class Area(PermissionGate, ServiceCaller, Vertical):
    """One area of the shell. Subclasses set AREA_ID and TITLE (a catalog key).

    `activate()` runs each time the area is shown: reload what may have changed meanwhile.
    `relabel()` runs after the language changed: redraw texts that were set in code.
    `ACTION_PERMISSIONS` (from PermissionGate) hides keys the operator's roles do not allow.
    """

    AREA_ID = ""
    TITLE = ""
    # What the operator needs to see this area at all; without it the shell shows a LockedArea
    # in its place, and nothing is loaded.
    READ_PERMISSION: str | None = None
    DEFAULT_CSS = """
    Area { height: 1fr; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id=self.AREA_ID)

    def activate(self) -> None:
        """Called when the area becomes visible."""

    def relabel(self) -> None:
        """Called after a language switch."""

    def show_queue(self, key: str) -> None:
        """Narrow the area to one queue of the dashboard ("batches_submitted", ...): the work
        that line counted. Areas without such a list show themselves as they are."""

    def focus_default(self) -> None:
        """Focus the area's main list, not a text field: single-letter and number keys then work
        straight away (they never fire while an Input has focus)."""
        for widget in self.query("*"):
            if widget.focusable and not isinstance(widget, Input):
                widget.focus()
                return


class LockedArea(Area):
    """Stands in for an area the operator's roles may not read: says so, loads nothing."""

    DEFAULT_CSS = """
    LockedArea Static { margin: 1 2; color: $text-muted; }
    """

    def __init__(self, area: type[Area]) -> None:
        self.AREA_ID = area.AREA_ID
        self.TITLE = area.TITLE
        super().__init__()

    def compose(self):
        yield Static(id="locked-text")

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#locked-text", Static).update(t("shell.area_locked", area=t(self.TITLE)))
