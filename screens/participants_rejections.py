"""Why participants were not selected into a wave: counts per reason and the list (keyset pages)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from screens.participants_forms import MODAL_CSS
from store.services import selection
from store.services.selection import RejectedRow
from tui.i18n import t
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import Label, Static


def _row(row: RejectedRow) -> tuple[str, list[str]]:
    return str(row.id), [row.nik, row.full_name, t(f"selection.reason.{row.reason}")]


class RejectionsScreen(ModalScreen[None]):
    DEFAULT_CSS = "RejectionsScreen {" + MODAL_CSS + "} RejectionsScreen > Vertical { width: 110; height: 80%; }"
    BINDINGS = [Binding("escape", "dismiss", "keys.close", id="mitra.waves.rejections.close")]

    def __init__(self, wave_number: int, counts: dict[str, int]) -> None:
        super().__init__()
        self.wave_number, self.counts = wave_number, counts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("participants.rejections.title", number=self.wave_number), classes="modal-title")
            yield Static("\n".join(f"{t(f'selection.reason.{reason}')}: {count}" for reason, count in self.counts.items())
                         or t("participants.rejections.none"), id="rejection-counts")
            yield PagedTable(
                [("nik", "participants.col.nik"), ("name", "participants.col.name"), ("reason", "participants.col.reason")],
                _row, id="rejections-table", reference=lambda row: None,  # a masked NIK is no reference
            )

    def on_mount(self) -> None:
        number = self.wave_number

        async def fetch(db, actor, cursor, limit):
            return await selection.list_rejections(db, actor, number, "", cursor, limit)

        self.query_one(PagedTable).load(fetch)
        self.query_one(PagedTable).focus()
