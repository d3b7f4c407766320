"""The Payments area: batches newest first, with kind, scope, state, count, total and approvals;
filters by state and kind; Enter opens a batch, `p` prepares a new one (finance)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal

from screens.payments_batch import BatchScreen, scope_label
from screens.payments_prepare import PrepareScreen, set_options_keeping_value
from store.models import BatchKind, BatchState
from store.services.payments import browse
from store.services.payments.views import BatchRow
from tui.area import Area
from tui.i18n import t
from tui.money import group_digits, rupiah
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import Select, Static
from tui.widgets.sort_order import SortChoice


def _row(batch: BatchRow) -> tuple[str, list[str]]:
    return str(batch.id), [
        str(batch.id),
        t(f"payments.kind.{batch.kind}"),
        scope_label(batch),
        t(f"payments.state.{batch.state}"),
        group_digits(batch.line_count),
        rupiah(batch.total_idr),
        t("payments.approvals", given=batch.approvals_given, needed=batch.approvals_needed),
        str(batch.batch_version),
        batch.prepared_by,
    ]


class PaymentsArea(SortChoice, Area):
    AREA_ID = "payments"
    TITLE = "area.payments"
    READ_PERMISSION = "payment.read"
    SORTS = tuple(browse.BATCH_ORDERS)
    SORT_TEXT = "payments.sort."
    ACTION_PERMISSIONS = {"prepare": "payment.prepare"}
    DEFAULT_CSS = """
    PaymentsArea #payments-filters { height: 3; }
    PaymentsArea #payments-filters Select { width: 30; margin-right: 2; }
    PaymentsArea #payments-status { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "open", "keys.open", id="mitra.payments.open"),
        Binding("p", "prepare", "payments.key.prepare", id="mitra.payments.prepare"),
        Binding("slash", "filter", "keys.filter", id="mitra.payments.filter"),
        Binding("o", "next_sort", "keys.sort", id="mitra.payments.sort"),
        Binding("r", "refresh", "keys.refresh", id="mitra.payments.refresh"),
        Binding("escape", "clear_filter", "keys.clear_filter", show=False, id="mitra.payments.clear"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="payments-filters"):
            yield Select(self._state_options(), allow_blank=False, value="", id="filter-state")
            yield Select(self._kind_options(), allow_blank=False, value="", id="filter-kind")
        yield Static("", id="payments-status")
        yield PagedTable(
            [
                ("id", "payments.col.id"), ("kind", "payments.col.kind"), ("scope", "payments.col.scope"),
                ("state", "payments.col.state"), ("lines", "payments.col.lines"), ("total", "payments.col.total"),
                ("approvals", "payments.col.approvals"), ("version", "payments.col.version"),
                ("prepared_by", "payments.col.prepared_by"),
            ],
            _row,
            id="batches",
            gives_way="scope", whole_through="total",  # a total in the billions stays whole at 80 columns
        )

    @staticmethod
    def _state_options() -> list[tuple[str, str]]:
        return [(t("payments.filter.all_states"), "")] + [(t(f"payments.state.{s.value}"), s.value) for s in BatchState]

    @staticmethod
    def _kind_options() -> list[tuple[str, str]]:
        return [(t("payments.filter.all_kinds"), "")] + [(t(f"payments.kind.{k.value}"), k.value) for k in BatchKind]

    def focus_default(self) -> None:
        self.query_one(PagedTable).focus()

    def activate(self) -> None:
        self.reload()

    def relabel(self) -> None:
        set_options_keeping_value(self.query_one("#filter-state", Select), self._state_options())
        set_options_keeping_value(self.query_one("#filter-kind", Select), self._kind_options())
        self.query_one(PagedTable).relabel()
        self.reload()

    def reload(self, *, keep_cursor: bool = False) -> None:
        filters = browse.BatchFilter(
            state=str(self.query_one("#filter-state", Select).value or ""),
            kind=str(self.query_one("#filter-kind", Select).value or ""),
            sort=self.sort,
        )

        async def fetch(db, actor, cursor, limit):
            return await browse.list_batches(db, actor, filters, cursor, limit)

        self.query_one(PagedTable).load(fetch, keep_cursor=keep_cursor)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.reload()

    def on_paged_table_loaded(self, message: PagedTable.Loaded) -> None:
        more = "" if message.complete else "+"
        self.query_one("#payments-status", Static).update(
            t("payments.shown", count=f"{message.total_rows}{more}", order=self.sort_text()))

    def action_open(self) -> None:
        batch = self.query_one(PagedTable).selected_row()
        if batch is not None:
            # Back from the batch, the list is fresh and the cursor on the same batch.
            self.app.push_screen(BatchScreen(batch.id), callback=lambda _: self.reload(keep_cursor=True))

    def on_data_table_row_selected(self, event) -> None:
        event.stop()
        self.action_open()

    def action_prepare(self) -> None:
        self.app.push_screen(PrepareScreen(), callback=self._prepared)

    def _prepared(self, batch: BatchRow | None) -> None:
        self.reload()
        if batch is not None:
            self.app.push_screen(BatchScreen(batch.id), callback=lambda _: self.reload())

    QUEUE_STATES = {"batches_submitted": "submitted", "batches_draft": "draft", "batches_to_send": "approved",
                     "batches_to_reconcile": "sent"}

    def show_queue(self, key: str) -> None:
        if key in self.QUEUE_STATES:
            self.query_one("#filter-state", Select).value = self.QUEUE_STATES[key]  # reloads

    def action_filter(self) -> None:
        self.query_one("#filter-state", Select).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter-state", Select).value = ""
        self.query_one("#filter-kind", Select).value = ""
        self.reload()
        self.query_one(PagedTable).focus()

    def action_refresh(self) -> None:
        self.reload()
