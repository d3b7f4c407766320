"""An area whose workflow has not landed yet: it says what is coming, nothing else."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.area import Area
from tui.i18n import t


class ComingArea(Area):
    DEFAULT_CSS = """
    ComingArea Static { margin: 1 2; }
    ComingArea #coming-title { text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="coming-title")
        yield Static(id="coming-body")

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#coming-title", Static).update(t(self.TITLE))
        self.query_one("#coming-body", Static).update(t(f"coming.{self.AREA_ID}"))
