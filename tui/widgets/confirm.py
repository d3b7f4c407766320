"""A confirmation that says exactly what will happen, and defaults to "No"."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from tui.i18n import t
from tui.widgets.plain import Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only when the operator chooses Yes."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 72; height: auto; max-height: 90%; border: thick $warning; background: $surface;
        padding: 1 2;
    }
    ConfirmScreen #confirm-title { text-style: bold; margin-bottom: 1; }
    ConfirmScreen #confirm-body { margin-bottom: 1; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape,n", "answer(False)", "keys.no", id="mitra.confirm.no"),
        Binding("y", "answer(True)", "keys.yes", id="mitra.confirm.yes"),
    ]

    def __init__(self, title: str | Text, body: str | Text, *, yes_label: str | None = None) -> None:
        # Text, not str, where the sentence carries an operator's own words (never read as markup).
        super().__init__()
        self._title = title
        self._body = body
        self._yes = yes_label or t("shell.confirm.yes")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, id="confirm-title")
            yield Static(self._body, id="confirm-body")
            with Horizontal():
                yield Button(t("shell.confirm.no"), id="confirm-no", variant="primary")
                yield Button(self._yes, id="confirm-yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
