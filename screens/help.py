"""Help (? or F1): the keys of the current view, then the areas and global keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from tui.i18n import t
from tui.widgets.plain import Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; height: 80%; border: thick $accent; background: $surface; padding: 1 2; }
    HelpScreen .help-heading { text-style: bold; margin-top: 1; color: $accent; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "keys.close", id="mitra.help.close")]

    def __init__(self, bindings: list[tuple[str, str]], areas: list[tuple[str, str]]) -> None:
        super().__init__()
        self._key_rows = bindings
        self._areas = areas

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(t("help.title"), classes="help-heading")
            yield Static("\n".join(f"  {key:<14} {description}" for key, description in self._key_rows) or "-")
            yield Static(t("help.areas"), classes="help-heading")
            yield Static("\n".join(f"  {key:<14} {name}" for key, name in self._areas))
            yield Static(t("help.palette"), classes="help-heading")
            yield Static(t("help.palette_text"))
