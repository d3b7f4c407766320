"""The Dashboard: the work waiting for the logged-in operator, one line per queue."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from screens.payments_budget import WaveBudgets
from store.services import dashboard
from tui.area import Area
from tui.i18n import t
from tui.widgets.plain import DataTable, Static


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
        Binding("ctrl+e", "export_budgets", "dashboard.key.export_budgets", id="mitra.dashboard.export_budgets"),
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

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "export_budgets":
            return self.app.actor is not None and self.app.actor.can("payment.budget")
        return True

    def action_export_budgets(self) -> None:
        """Each wave's incentive budget as a file; in an XLSX, its burn drawn as one bar per wave
        (paid, sent, approved, left)."""
        from store.exports import Chart
        from store.paging import Page
        from store.services.payments import browse
        from tui.widgets.export import ExportScreen

        async def fetch(db, actor, _cursor, _limit):
            return Page(await browse.wave_budgets(db, actor))  # one row per wave

        def cells(budget: browse.WaveBudget) -> tuple[str, list]:
            left = max(budget.budget_idr - budget.used_idr, 0)
            return str(budget.number), [
                t("payments.budget.wave", number=budget.number), budget.budget_idr, budget.paid_idr, budget.sent_idr,
                budget.approved_idr, left,
            ]

        header = [t(f"dashboard.budget.col.{key}") for key in ("wave", "budget", "paid", "sent", "approved", "left")]
        burn = Chart(t("payments.budget.title"), categories=0, series=(2, 3, 4, 5), stacked=True)
        self.app.push_screen(ExportScreen("budgets", header, fetch, cells, chart=burn))

    def show_queues(self, queues: list[dashboard.QueueCount]) -> None:
        table = self.query_one("#queues", DataTable)
        table.clear()
        for queue in queues:
            table.add_row(t(f"queue.{queue.key}"), str(queue.count), t(f"area.{queue.area}"), key=queue.area + ":" + queue.key)
        if not queues:
            table.add_row(t("dashboard.nothing"), "", "", key="none:none")

    async def action_open_queue(self) -> None:
        from screens.shell import ShellScreen  # here, not above: the shell imports the areas

        table = self.query_one("#queues", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        area, _, queue = key.partition(":")
        shell = self.screen
        if area != "none" and isinstance(shell, ShellScreen):
            await shell.open_queue(area, queue)

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        await self.action_open_queue()
