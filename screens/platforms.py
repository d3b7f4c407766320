"""The Platforms area: the platform partners with their status and overdue obligation reports.

Enter opens a platform's obligations calendar. Admins suspend (s) and reinstate (a) a platform
with a reason, and open the obligation periods that have begun (p); `o` changes the order.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from screens.platforms_detail import PlatformScreen
from store.models import PlatformStatus
from store.services import obligations, platforms
from store.services.platforms import PlatformRow
from tui.area import Area
from tui.i18n import t
from tui.money import percent
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.fitting import FittedTable
from tui.widgets.plain import DataTable, Static
from tui.widgets.prompt import TextPrompt
from tui.widgets.sort_order import SortChoice

# What an operator scans first, then the references: at 80 columns the code passes the edge.
COLUMNS = ("name", "status", "overdue", "not_yet_due", "scheduled", "code", "agreement", "since", "cap")


def overdue_text(count: int) -> Text:
    return Text(str(count), style="bold red" if count else "")


class PlatformsArea(SortChoice, Area):
    AREA_ID = "platforms"
    TITLE = "area.platforms"
    READ_PERMISSION = "platform.read"
    SORTS = tuple(platforms.PLATFORM_SORTS)
    SORT_TEXT = "platforms.sort."
    DEFAULT_CSS = """
    PlatformsArea #platforms-title { text-style: bold; margin: 1 0 0 0; }
    PlatformsArea #platforms-status { height: 1; color: $text-muted; }
    PlatformsArea DataTable { height: auto; max-height: 30; }
    """
    BINDINGS = [
        Binding("enter", "open", "keys.open", id="mitra.platforms.open"),
        Binding("s", "suspend", "keys.platforms.suspend", id="mitra.platforms.suspend"),
        Binding("a", "reinstate", "keys.platforms.reinstate", id="mitra.platforms.reinstate"),
        Binding("p", "roll", "keys.platforms.roll", id="mitra.platforms.roll"),
        Binding("o", "next_sort", "keys.sort", id="mitra.platforms.sort"),
        Binding("r", "refresh", "keys.refresh", id="mitra.platforms.refresh"),
        Binding("ctrl+e", "export", "keys.export", id="mitra.platforms.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[PlatformRow] = []
        self._to_overdue = False  # put the cursor on the first platform with overdue reports

    def show_queue(self, key: str) -> None:
        if key == "obligations_overdue":
            self._to_overdue = True
            self.activate()

    def compose(self) -> ComposeResult:
        yield Static("", id="platforms-title")
        yield Static("", id="platforms-status")
        # At 80 columns a long name is cut before the counts and the date the periods run to.
        yield FittedTable(id="platforms-table", cursor_type="row", zebra_stripes=True, gives_way="name",
                          whole_through="scheduled")

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#platforms-title", Static).update(t("platforms.title"))
        table = self.query_one("#platforms-table", DataTable)
        table.clear(columns=True)
        for key in COLUMNS:
            table.add_column(t("platforms.col." + key), key=key)
        self.show(self.rows)

    def activate(self) -> None:
        self.call(platforms.list_platforms, sort=self.sort, then=self.show)

    def reload(self) -> None:  # a new order (SortChoice)
        self.activate()

    def action_refresh(self) -> None:
        self.activate()

    def action_export(self) -> None:
        from store.paging import Page
        from tui.widgets.export import ExportScreen

        async def fetch(db, actor, _cursor, _limit):
            return Page(await platforms.list_platforms(db, actor, sort=self.sort))  # a handful: one page

        header = [t("platforms.col." + key) for key in COLUMNS]
        self.app.push_screen(ExportScreen("platforms", header, fetch, lambda row: (str(row.id), self._cells(row))))

    def show(self, rows: list[PlatformRow]) -> None:
        self.rows = rows
        table = self.query_one("#platforms-table", FittedTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*self._cells(row), key=str(row.id))
        table.fit()
        if rows:
            overdue = [index for index, row in enumerate(rows) if row.overdue]
            if self._to_overdue and overdue:
                cursor = overdue[0]
            self._to_overdue = False
            table.move_cursor(row=min(cursor, len(rows) - 1))
        total = sum(row.overdue for row in rows)
        self.query_one("#platforms-status", Static).update(
            t("platforms.summary", count=len(rows), overdue=total) + f" · {self.sort_text()}")
        self.refresh_bindings()

    @staticmethod
    def _cells(row: PlatformRow) -> list:
        status = Text(t("platforms.status." + row.status), style="" if row.status == PlatformStatus.ACTIVE else "bold yellow")
        return [
            row.name, status, overdue_text(row.overdue), str(row.not_yet_due),
            row.scheduled_through.isoformat() if row.scheduled_through else "-", row.code, row.agreement_number,
            row.agreement_date.isoformat(), percent(row.commission_cap_bp),
        ]

    def selected(self) -> PlatformRow | None:
        table = self.query_one("#platforms-table", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        actor = self.app.actor
        if action in ("suspend", "reinstate"):
            if actor is None or not actor.can("platform.suspend"):
                return False
            row = self.selected()
            wanted = PlatformStatus.ACTIVE if action == "suspend" else PlatformStatus.SUSPENDED
            return True if row is not None and row.status == wanted else None
        if action == "roll":
            return actor is not None and actor.can("obligation.schedule")
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.push_screen(PlatformScreen(row.id), lambda _: self.activate())

    def _change_status(self, action: str) -> None:
        row = self.selected()
        if row is None:
            return
        service = platforms.suspend if action == "suspend" else platforms.reinstate

        def reason_given(reason: str | None) -> None:
            if reason is None:
                return
            body = t(f"platforms.confirm_{action}", name=row.name, code=row.code, reason=reason)

            def answered(yes: bool | None) -> None:
                if yes:
                    self.call(service, row.id, reason, expected_version=row.version, then=lambda _: self.activate(),
                              on_error=self._failed)

            self.app.push_screen(
                ConfirmScreen(t(f"platforms.{action}_title", name=row.name), body,
                              yes_label=t(f"platforms.{action}_yes")),
                answered,
            )

        self.app.push_screen(TextPrompt(t(f"platforms.{action}_title", name=row.name), t("platforms.reason_body")),
                             reason_given)

    def _failed(self, error) -> None:
        self.app.show_error(error)
        self.activate()

    def action_suspend(self) -> None:
        self._change_status("suspend")

    def action_reinstate(self) -> None:
        self._change_status("reinstate")

    def action_roll(self) -> None:
        today = dt.date.today()

        def done(result: obligations.RollResult) -> None:
            self.app.notify(t("cli.platforms.rolled", created=result.created, platforms=result.platforms,
                              through=result.through.isoformat()))
            self.activate()

        self.call(obligations.roll_forward, today, then=done)
