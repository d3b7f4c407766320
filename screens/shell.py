"""The shell: status bar, area tabs, the areas, and the footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Tab, Tabs

from screens import areas
from screens.tour import TourPanel
from tui.area import Area, LockedArea
from tui.i18n import t
from tui.widgets.footer import TranslatedFooter
from tui.widgets.paged_table import PagedTable
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
        # Only the first area is built at login; each other one the first time it is shown
        # (`show_area`). Building all seven made the login, and every later restyle of the
        # screen, pay for tables and forms the operator may never open.
        first = self.AREA_CLASSES[0]
        with ContentSwitcher(initial=first.AREA_ID, id="areas"):
            yield self._build_area(first)
        yield TranslatedFooter()

    def _build_area(self, cls: type[Area]) -> Area:
        readable = cls.READ_PERMISSION is None or self.operator.can(cls.READ_PERMISSION)
        return cls() if readable else LockedArea(cls)

    # Each tab takes its label and two cells of padding.
    TAB_PADDING = 2

    def _tab_label(self, number: int, cls: type[Area], compact: bool | None = None) -> str:
        """"5 Participants", or at narrow widths (80 columns) "5 People": every tab stays whole."""
        if compact is None:
            compact = self._tabs_too_wide()
        return f"{number} {t(cls.TITLE + '.short') if compact else t(cls.TITLE)}"

    def _tabs_too_wide(self) -> bool:
        full = sum(len(f"{n} {t(cls.TITLE)}") + self.TAB_PADDING for n, cls in enumerate(self.AREA_CLASSES, 1))
        beside = sum(panel.beside for panel in self.query(TourPanel))  # the demo's guided tour
        return full > max(self.app.size.width - beside, 1) - 1

    def on_resize(self) -> None:
        self.label_tabs()

    def on_tour_panel_placed(self) -> None:
        self.label_tabs()

    def label_tabs(self) -> None:
        tabs = self.query_one("#area-tabs", Tabs)
        compact = self._tabs_too_wide()
        for number, cls in enumerate(self.AREA_CLASSES, start=1):
            tabs.query_one(f"#tab-{cls.AREA_ID}", Tab).label = self._tab_label(number, cls, compact)

    @property
    def current_area(self) -> Area:
        switcher = self.query_one("#areas", ContentSwitcher)
        return switcher.query_one(f"#{switcher.current}", Area)

    def on_mount(self) -> None:
        self.current_area.activate()
        self.current_area.focus_default()

    def action_area(self, area_id: str) -> None:
        self.query_one("#area-tabs", Tabs).active = f"tab-{area_id}"

    async def show_area(self, area_id: str) -> Area:
        """Show an area (building it the first time), reload it and focus its list."""
        switcher = self.query_one("#areas", ContentSwitcher)
        if switcher.current != area_id:
            if switcher.query_children(f"#{area_id}"):
                switcher.current = area_id
            else:
                [cls] = [cls for cls in self.AREA_CLASSES if cls.AREA_ID == area_id]
                await switcher.add_content(self._build_area(cls), set_current=True)
            area = self.current_area
            with PagedTable.reshowing():  # its lists keep their rows until the reload brings news
                area.activate()
            area.focus_default()
        return self.current_area

    async def open_queue(self, area_id: str, key: str) -> None:
        """The area of a dashboard line, narrowed to the work that line counted."""
        area = await self.show_area(area_id)
        self.action_area(area_id)  # the tab follows; the area is already shown
        self.call_after_refresh(lambda: area.show_queue(key))

    async def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is None or event.tab.id is None or event.tabs.id != "area-tabs":
            return
        await self.show_area(event.tab.id.removeprefix("tab-"))

    def relabel(self) -> None:
        """Redraw every text after a language switch."""
        self.label_tabs()
        self.query_one(StatusBar).refresh_text()
        for area in self.query(Area):
            area.relabel()
        self.refresh_bindings()
