"""The Dashboard: the work waiting for the logged-in operator, one line per queue."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from screens.payments_budget import WaveBudgets
from store.services import dashboard
from tui.area import Area
from tui.i18n import t


class DashboardArea(Area):
    AREA_ID = "dashboard"
    TITLE = "area.dashboard"
    DEFAULT_CSS = """
    DashboardArea #dashboard-title { text-style: bold; margin: 1 0; }
    DashboardArea DataTable { height: auto; max-height: 20; }
    """
    BINDINGS = [
        Binding("r", "refresh", "keys.refresh", id="mitra.dashboard.refresh"),
        Binding("enter", "open_queue", "keys.open", id="mitra.dashboard.open"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="dashboard-title")
        yield DataTable(id="queues", cursor_type="row")
        yield WaveBudgets(id="wave-budgets")

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#dashboard-title", Static).update(t("dashboard.title"))
        table = self.query_one("#queues", DataTable)
        table.clear(columns=True)
        table.add_column(t("dashboard.queue"), key="queue")
        table.add_column(t("dashboard.count"), key="count")
        table.add_column(t("dashboard.area"), key="area")
        self.activate()

    def activate(self) -> None:
        self.call(dashboard.work_waiting, then=self.show_queues)
        self.query_one(WaveBudgets).reload()

    def action_refresh(self) -> None:
        self.activate()

    def show_queues(self, queues: list[dashboard.QueueCount]) -> None:
        table = self.query_one("#queues", DataTable)
        table.clear()
        for queue in queues:
            table.add_row(t(f"queue.{queue.key}"), str(queue.count), t(f"area.{queue.area}"), key=queue.area + ":" + queue.key)
        if not queues:
            table.add_row(t("dashboard.nothing"), "", "", key="none:none")

    def action_open_queue(self) -> None:
        table = self.query_one("#queues", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        area, _, queue = key.partition(":")
        if area != "none":
            self.screen.open_queue(area, queue)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_queue()
