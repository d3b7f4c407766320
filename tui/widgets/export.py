"""Export the list in front of the operator (Ctrl+E on any list): CSV or XLSX, to a path they
choose, with a progress line for long lists, Escape to stop, and the path written shown at the
end (Ctrl+Y copies it). What is written is what the list shows, page by page from the same
store service, under the same filters (store/exports.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, ProgressBar

from store.errors import MitraError
from tui.app_access import InConsole
from tui.i18n import describe_error, t
from tui.widgets.plain import Select, Static
from tui.widgets.prompt import PromptScreen

PAGE = 1_000


def default_folder() -> Path:
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.cwd()


def _plain(cell: Any) -> Any:
    return cell.plain if isinstance(cell, Text) else cell if isinstance(cell, (int, float)) else str(cell)


class ExportScreen(InConsole, PromptScreen):
    BINDINGS = [
        Binding("escape", "cancel", "keys.cancel", id="mitra.export.cancel"),
        Binding("ctrl+y", "copy", "export.key.copy", id="mitra.export.copy"),
    ]

    def __init__(self, name: str, header: Sequence[str], fetch: Callable[..., Any],
                 render: Callable[[Any], tuple[str, Sequence[Any]]], chart: Any = None) -> None:
        """`chart` (store.exports.Chart): drawn beside the rows in an XLSX."""
        super().__init__(t("export.title", list=t(f"export.list.{name}")))
        self.list_name, self.header, self.fetch, self.row_cells = name, list(header), fetch, render
        self.chart = chart
        self.running = False
        self.stop_asked = False
        self.written_path: Path | None = None

    def compose(self) -> ComposeResult:
        today = dt.date.today().isoformat()
        with Vertical():
            yield self.title_label()
            yield Select([("CSV", "csv"), ("XLSX (Excel)", "xlsx")], value="xlsx", allow_blank=False, id="export-format")
            yield Input(str(default_folder() / f"mitra-{self.list_name}-{today}.xlsx"), id="export-path")
            yield ProgressBar(total=None, show_eta=False, id="export-progress")
            yield Static("", id="export-status")
            yield Static("", classes="prompt-error")
            yield Static(t("export.hint"), classes="prompt-hint")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        path = self.query_one("#export-path", Input)
        path.value = str(Path(path.value).with_suffix(f".{event.value}"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.running:
            self.run_worker(self._export(), exclusive=True, exit_on_error=False, group="export")

    async def _export(self) -> None:
        from store import exports

        self.running, self.stop_asked = True, False
        fmt = str(self.query_one("#export-format", Select).value)
        path = Path(self.query_one("#export-path", Input).value).expanduser()
        status = self.query_one("#export-status", Static)
        self.show_error("")
        app = self.app
        db, actor = await app.database(), app.actor
        assert actor is not None  # lists are exported from the shell: someone is logged in

        async def pages():
            cursor = None
            while True:
                page = await self.fetch(db, actor, cursor, PAGE)
                yield [[_plain(cell) for cell in self.row_cells(row)[1]] for row in page.rows]
                if page.next_cursor is None:
                    return
                cursor = page.next_cursor

        def progress(rows: int) -> None:
            status.update(t("export.progress", count=rows))

        try:
            written = await exports.export_list(
                db, actor, name=self.list_name, header=self.header, pages=pages, path=path, fmt=fmt,
                progress=progress, should_stop=lambda: self.stop_asked, chart=self.chart,
            )
        except MitraError as error:
            self.show_error(describe_error(error))
        else:
            bar = self.query_one("#export-progress", ProgressBar)
            bar.update(total=max(written, 1), progress=max(written, 1))
            if self.stop_asked:
                status.update(t("export.stopped"))
            else:
                self.written_path = path
                status.update(t("export.done", count=written, path=str(path)))
        finally:
            self.running = False

    def action_copy(self) -> None:
        if self.written_path is not None:
            self.app.copy_to_clipboard(str(self.written_path))
            self.app.notify(t("export.copied"))

    def action_cancel(self) -> None:
        if self.running:
            self.stop_asked = True  # the export stops after the page it is writing
            return
        self.dismiss(None)
