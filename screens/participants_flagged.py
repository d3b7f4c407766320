"""Completions flagged as too fast for their course's hours, not yet reviewed: the coordinator's
queue from the dashboard. Enter opens the participant's file, where `f` accepts one with a reason."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from screens.participants_forms import MODAL_CSS
from store.services import enrollments
from store.services.enrollments import FlaggedCompletion
from tui.i18n import t
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import Label


def _row(row: FlaggedCompletion) -> tuple[str, list[str]]:
    return str(row.enrollment_id), [
        row.nik, row.full_name, row.course_title, str(row.hours), row.platform_name,
        row.assigned_at.date().isoformat(), row.completed_on.isoformat(),
    ]


class FlaggedCompletionsScreen(ModalScreen[None]):
    DEFAULT_CSS = ("FlaggedCompletionsScreen {" + MODAL_CSS + "}"
                   " FlaggedCompletionsScreen > Vertical { width: 100%; max-width: 130; height: 80%; }")
    BINDINGS = [
        Binding("escape", "dismiss", "keys.close", id="mitra.flagged.close"),
        Binding("enter", "open", "keys.open", id="mitra.flagged.open"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("participants.flagged.title"), classes="modal-title")
            yield Label(t("participants.flagged.hint"))
            yield PagedTable(
                [("nik", "participants.col.nik"), ("name", "participants.col.name"),
                 ("course", "participants.flagged.col.course"), ("hours", "participants.flagged.col.hours"),
                 ("platform", "participants.flagged.col.platform"), ("assigned", "participants.flagged.col.assigned"),
                 ("completed", "participants.flagged.col.completed")],
                _row, id="flagged-table", reference=lambda row: None,  # a masked NIK is no reference
            )

    def on_mount(self) -> None:
        async def fetch(db, actor, cursor, limit):
            return await enrollments.list_flagged_completions(db, actor, cursor, limit)

        table = self.query_one(PagedTable)
        table.load(fetch)
        table.focus()

    def on_data_table_row_selected(self, event) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        from screens.participants_detail import ParticipantScreen

        table = self.query_one(PagedTable)
        row = table.selected_row()
        if row is not None:
            self.app.push_screen(ParticipantScreen(row.participant_id), lambda _changed: table.reload(keep_cursor=True))
