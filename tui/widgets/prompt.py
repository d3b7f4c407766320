"""Asking for a short text (a note, a reason): a modal with one field, Enter to accept, Esc to cancel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui.i18n import t


class TextPrompt(ModalScreen[str | None]):
    """Dismisses with the text typed (stripped), or None when cancelled."""

    DEFAULT_CSS = """
    TextPrompt { align: center middle; }
    TextPrompt > Vertical {
        width: 80; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    TextPrompt #prompt-title { text-style: bold; margin-bottom: 1; }
    TextPrompt #prompt-error { color: $error; height: auto; }
    TextPrompt #prompt-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "keys.cancel", id="mitra.prompt.cancel")]

    def __init__(self, title: str, body: str = "", *, initial: str = "", required: bool = True) -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._initial = initial
        self._required = required

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, id="prompt-title")
            if self._body:
                yield Static(self._body, id="prompt-body")
            yield Input(value=self._initial, id="prompt-input", placeholder=t("prompt.placeholder"))
            yield Static("", id="prompt-error")
            yield Static(t("prompt.hint"), id="prompt-hint")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self._required and not text:
            self.query_one("#prompt-error", Static).update(t("prompt.required"))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
