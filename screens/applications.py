"""The Applications area: the queue of platform applications.

It opens on what waits for the operator's roles (reviewers: submitted, in review, waiting for
information; approvers: recommended); `f` cycles through the other states, `o` the sort order,
`/` filters by name, Enter opens the review screen, which steps through this same list.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input

from screens.applications_form import ApplicationForm
from screens.applications_review import ReviewScreen
from store.models import ApplicationState
from store.services import applications
from store.services.applications import ApplicationRow
from tui.area import Area
from tui.i18n import t
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import DataTable, Static
from tui.widgets.sort_order import SortChoice

MINE = "mine"
ALL = "all"


def _row(row: ApplicationRow) -> tuple[str, list[str]]:
    criteria = f"✓{row.passed} ✗{row.failed} ?{row.pending}"
    recommendation = t("applications.outcome." + row.recommendation) if row.recommendation else ""
    return str(row.id), [
        str(row.id), row.brand_name, t("applications.state." + row.state), row.submitted_on.isoformat(),
        criteria, recommendation, t("applications.form_short." + row.legal_form), row.legal_name,
    ]


class ApplicationsArea(SortChoice, Area):
    AREA_ID = "applications"
    TITLE = "area.applications"
    READ_PERMISSION = "application.read"
    SORTS = tuple(applications.APPLICATION_ORDERS)
    SORT_TEXT = "applications.sort."
    ACTION_PERMISSIONS = {"new": "application.intake"}
    DEFAULT_CSS = """
    ApplicationsArea #applications-bar { height: 3; }
    ApplicationsArea #applications-name { width: 40; }
    ApplicationsArea #applications-filter { width: 1fr; padding: 1 1 0 1; }
    ApplicationsArea #applications-status { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "open", "keys.open", id="mitra.applications.open"),
        Binding("slash", "filter", "keys.filter", id="mitra.applications.filter"),
        Binding("f", "next_state", "keys.applications.state_filter", id="mitra.applications.state"),
        Binding("o", "next_sort", "keys.applications.sort", id="mitra.applications.sort"),
        Binding("c", "new", "keys.applications.new", id="mitra.applications.new"),
        Binding("r", "refresh", "keys.refresh", id="mitra.applications.refresh"),
        Binding("escape", "clear_filter", "keys.clear_filter", show=False, id="mitra.applications.clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state_filter = MINE

    def compose(self) -> ComposeResult:
        with Horizontal(id="applications-bar"):
            yield Input(id="applications-name")
            yield Static("", id="applications-filter")
        yield Static("", id="applications-status")
        yield PagedTable(
            [
                ("id", "applications.col.id"), ("name", "applications.col.name"),
                ("state", "applications.col.state"), ("submitted", "applications.col.submitted"),
                ("criteria", "applications.col.criteria"), ("recommendation", "applications.col.recommendation"),
                ("form", "applications.col.form"), ("legal_name", "applications.col.legal_name"),
            ],
            _row,
            id="applications-table",
            # At 80 columns the criteria tally stays whole; the date waits for a wider terminal.
            hide_below={"submitted": 100},
        )

    def on_mount(self) -> None:
        self.query_one("#applications-name", Input).placeholder = t("applications.filter_name")

    def relabel(self) -> None:
        self.query_one("#applications-name", Input).placeholder = t("applications.filter_name")
        self.query_one(PagedTable).relabel()
        self.activate()

    def activate(self) -> None:
        if self.state_filter == MINE and applications.waiting_states(self.operator) is None:
            self.state_filter = ALL
        self.reload()

    # --- the query ------------------------------------------------------------------------

    def _states(self) -> frozenset[str] | None:
        if self.state_filter == MINE:
            return applications.waiting_states(self.operator)
        if self.state_filter == ALL:
            return None
        return frozenset({self.state_filter})

    def _filter_label(self) -> str:
        if self.state_filter in (MINE, ALL):
            shown = t(f"applications.filter.{self.state_filter}")
        else:
            shown = t("applications.state." + self.state_filter)
        return t("applications.filter_line", states=shown, sort=self.sort_text())

    def reload(self) -> None:
        states, name, sort = self._states(), self.query_one("#applications-name", Input).value, self.sort
        self.query_one("#applications-filter", Static).update(self._filter_label())

        async def fetch(db, actor, cursor, limit):
            return await applications.list_applications(
                db, actor, states=states, name=name, sort=sort, cursor=cursor, limit=limit
            )

        self.query_one(PagedTable).load(fetch)

    def on_paged_table_loaded(self, message: PagedTable.Loaded) -> None:
        more = "" if message.complete else "+"
        self.query_one("#applications-status", Static).update(
            t("applications.shown", count=f"{message.total_rows}{more}")
        )

    # --- keys -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#applications-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.activate()
        self.query_one(PagedTable).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#applications-name", Input).value = ""
        self.activate()
        self.query_one(PagedTable).focus()

    QUEUE_STATES = {
        "applications_submitted": "submitted", "applications_in_review": "in_review",
        "applications_needs_info": "needs_info", "applications_recommended": "recommended",
    }

    def show_queue(self, key: str) -> None:
        if key in self.QUEUE_STATES:
            self.state_filter = self.QUEUE_STATES[key]
            self.reload()

    def action_next_state(self) -> None:
        cycle = [MINE, ALL, *[state.value for state in ApplicationState]]
        if applications.waiting_states(self.operator) is None:
            cycle.remove(MINE)
        self.state_filter = cycle[(cycle.index(self.state_filter) + 1) % len(cycle)]
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(PagedTable)
        selected = table.selected_row()
        if selected is None:
            return
        queue = [row.id for row in table.rows_by_key.values()]
        self.app.push_screen(ReviewScreen(queue, queue.index(selected.id)), lambda _: self.reload())

    def action_new(self) -> None:
        def created(application_id: int | None) -> None:
            self.reload()
            if application_id is not None:
                self.app.push_screen(ReviewScreen([application_id]), lambda _: self.reload())

        self.app.push_screen(ApplicationForm(), created)
