"""Debug info (command palette): what someone supporting an operator asks for first: versions,
the database and its schema revision, and the log file where unexpected errors are written."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from tui import logfile
from tui.i18n import t
from tui.widgets.plain import Static
from tui.workers import ServiceCaller


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


class DebugInfoScreen(ServiceCaller, ModalScreen[None]):
    DEFAULT_CSS = """
    DebugInfoScreen { align: center middle; }
    DebugInfoScreen > VerticalScroll { width: 100%; max-width: 100; height: auto; max-height: 90%;
                                        border: thick $accent; background: $surface; padding: 0 1; }
    DebugInfoScreen .debug-heading { text-style: bold; color: $accent; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "keys.close", id="mitra.debug_info.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(t("debug.title"), classes="debug-heading")
            yield Static(self._rows([
                ("debug.mitra", _version("mitra")),
                ("debug.python", platform.python_version()),
                ("debug.textual", _version("textual")),
                ("debug.sqlalchemy", _version("sqlalchemy")),
                ("debug.log", str(logfile.setup() or "-")),
            ]), id="debug-versions")
            yield Static(t("debug.database_pending"), id="debug-database")
            yield Static(t("debug.close_hint"))

    def on_mount(self) -> None:
        if self.app.actor is None:  # before login: no database facts for nobody
            self.query_one("#debug-database", Static).update(t("debug.database_after_login"))
            return
        from store.services import about

        self.call(about.database_facts, then=self.show_database)

    def show_database(self, facts) -> None:
        self.query_one("#debug-database", Static).update(self._rows([
            ("debug.database", f"{facts.backend}: {facts.address}"),
            ("debug.revision", facts.revision if facts.revision == facts.expected_revision
             else t("debug.revision_differs", found=facts.revision, expected=facts.expected_revision)),
            ("debug.replica", facts.replica),
        ]))

    @staticmethod
    def _rows(rows: list[tuple[str, str]]) -> str:
        labels = [t(key) for key, _ in rows]
        width = max(len(label) for label in labels)
        return "\n".join(f"{label:<{width}}  {value}" for label, (_, value) in zip(labels, rows))
