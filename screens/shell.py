"""The shell: status bar, area tabs, the areas, and the footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Tab, Tabs

from screens import areas
from tui.area import Area, LockedArea
from tui.i18n import t
from tui.widgets.footer import TranslatedFooter
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller


class ShellScreen(ServiceCaller, Screen):
    DEFAULT_CSS = """
    ShellScreen Tabs { height: 2; }
    ShellScreen ContentSwitcher { height: 1fr; }
    """
    AREA_CLASSES = areas()
    BINDINGS = [
        Binding(str(number), f"area('{cls.AREA_ID}')", cls.TITLE, show=False, id=f"mitra.area.{cls.AREA_ID}")
        for number, cls in enumerate(AREA_CLASSES, start=1)
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Tabs(
            *[Tab(self._tab_label(n, cls), id=f"tab-{cls.AREA_ID}") for n, cls in enumerate(self.AREA_CLASSES, 1)],
            id="area-tabs",
        )
        actor = self.app.actor
        with ContentSwitcher(initial=self.AREA_CLASSES[0].AREA_ID, id="areas"):
            for cls in self.AREA_CLASSES:
                readable = cls.READ_PERMISSION is None or actor.can(cls.READ_PERMISSION)
                yield cls() if readable else LockedArea(cls)
        yield TranslatedFooter()

    @staticmethod
    def _tab_label(number: int, cls: type[Area]) -> str:
        return f"{number} {t(cls.TITLE)}"

    @property
    def current_area(self) -> Area:
        switcher = self.query_one("#areas", ContentSwitcher)
        return switcher.query_one(f"#{switcher.current}", Area)

    def on_mount(self) -> None:
        self.current_area.activate()
        self.current_area.focus_default()

    def action_area(self, area_id: str) -> None:
        self.query_one("#area-tabs", Tabs).active = f"tab-{area_id}"

    def open_queue(self, area_id: str, key: str) -> None:
        """The area of a dashboard line, narrowed to the work that line counted."""
        self.action_area(area_id)
        self.call_after_refresh(lambda: self.current_area.show_queue(key))

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is None or event.tabs.id != "area-tabs":
            return
        area_id = event.tab.id.removeprefix("tab-")
        switcher = self.query_one("#areas", ContentSwitcher)
        if switcher.current != area_id:
            switcher.current = area_id
            area = self.current_area
            area.activate()
            area.focus_default()

    def relabel(self) -> None:
        """Redraw every text after a language switch."""
        tabs = self.query_one("#area-tabs", Tabs)
        for number, cls in enumerate(self.AREA_CLASSES, start=1):
            tabs.query_one(f"#tab-{cls.AREA_ID}", Tab).label = self._tab_label(number, cls)
        self.query_one(StatusBar).refresh_text()
        for area in self.query(Area):
            area.relabel()
        self.refresh_bindings()
