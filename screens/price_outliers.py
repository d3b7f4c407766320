"""The price-outlier report: courses priced far above similar courses (same category and mode).
Enter opens the course's provider."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from screens.provider_screen import ProviderScreen
from screens.provider_text import label, plain
from store.services import courses
from tui.i18n import t
from tui.money import rupiah
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Static
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller

COLUMNS = ("title", "provider", "category", "mode", "price", "median", "ratio", "similar")


class PriceOutliersScreen(ServiceCaller, Screen):
    DEFAULT_CSS = """
    PriceOutliersScreen #outliers-intro { padding: 0 1; height: auto; border-bottom: solid $primary; }
    PriceOutliersScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "providers.key.back", id="mitra.outliers.back"),
        Binding("enter", "open", "keys.open", id="mitra.outliers.open"),
        Binding("r", "refresh", "keys.refresh", id="mitra.outliers.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, courses.Outlier] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="outliers-intro")
        yield DataTable(id="outliers", cursor_type="row", zebra_stripes=True)
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.relabel()
        self.query_one(DataTable).focus()

    def relabel(self) -> None:
        self.query_one("#outliers-intro", Static).update(
            t("providers.outliers.intro", factor=courses.OUTLIER_FACTOR_PCT, similar=courses.MIN_SIMILAR)
        )
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for key in COLUMNS:
            table.add_column(t(f"providers.outliers.col.{key}"), key=key)
        self.reload()

    def reload(self) -> None:
        self.call(courses.price_outliers, then=self.show)

    def show(self, outliers: list[courses.Outlier]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.rows = {}
        for row in outliers:
            key = str(row.course_id)
            self.rows[key] = row
            table.add_row(
                plain(row.title), plain(row.provider_name), plain(row.category), label("mode", row.mode),
                rupiah(row.price_idr),
                rupiah(row.median_idr), f"{row.ratio_pct} %", str(row.similar), key=key,
            )
        if not outliers:
            table.add_row(t("providers.outliers.none"), *[""] * (len(COLUMNS) - 1), key="none")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        row = self.rows.get(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or "")
        if row is not None:
            self.app.push_screen(ProviderScreen(row.provider_id))
