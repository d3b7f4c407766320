"""Asking the operator for one line of text (a reason, a file name): Enter gives it, Escape
cancels. A required answer cannot be empty."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui.i18n import t


class PromptScreen(ModalScreen[str | None]):
    """Dismisses with the stripped text, or None when cancelled."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 80; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    PromptScreen #prompt-title { text-style: bold; margin-bottom: 1; }
    PromptScreen #prompt-hint { color: $text-muted; margin-top: 1; }
    PromptScreen #prompt-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "prompt.cancel", id="mitra.prompt.cancel")]

    def __init__(self, title: str, body: str, *, value: str = "", placeholder: str = "", required: bool = True) -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._value = value
        self._placeholder = placeholder
        self._required = required

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, id="prompt-title")
            yield Static(self._body, id="prompt-body")
            yield Input(value=self._value, placeholder=self._placeholder, id="prompt-input")
            yield Static("", id="prompt-error")
            yield Static(t("prompt.hint"), id="prompt-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        if self._required and not answer:
            self.query_one("#prompt-error", Static).update(t("prompt.required"))
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
