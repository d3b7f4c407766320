"""Small input modals: `PromptScreen` (the shared frame) and `TextPrompt` (one text, e.g. a reason).

A prompt is a bordered box over the screen; Esc cancels (dismisses None), an error line explains
what is missing, and the hint line says which keys do what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input

from store.errors import MitraError
from tui.i18n import describe_error, t
from tui.widgets.plain import Label, Static


class PromptScreen(ModalScreen):
    """Base of the input modals: compose() yields its fields inside `Vertical` with `frame()`."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 84; max-width: 100%; height: auto; max-height: 90%; border: thick $accent; background: $surface;
        padding: 1 2;
    }
    PromptScreen .prompt-title { text-style: bold; margin-bottom: 1; }
    PromptScreen .prompt-error { color: $error; height: auto; }
    PromptScreen .prompt-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "keys.cancel", id="mitra.prompt.cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def title_label(self) -> Label:
        return Label(self.title_text, classes="prompt-title")

    @staticmethod
    def footer_lines() -> ComposeResult:
        yield Static("", classes="prompt-error")
        yield Static(t("prompt.hint"), classes="prompt-hint")

    def show_error(self, text: str) -> None:
        self.query_one(".prompt-error", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(PromptScreen):
    """Dismisses with the text typed (stripped), or None when cancelled.

    `check`, a store validator, refuses malformed text in place (its error shown, the text kept
    for correcting) instead of after the prompt has closed."""

    def __init__(
        self, title: str, body: str = "", *, initial: str = "", placeholder: str = "", required: bool = True,
        check: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__(title)
        self._body = body
        self._initial = initial
        self._placeholder = placeholder
        self._required = required
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.title_label()
            if self._body:
                yield Static(self._body, id="prompt-body")
            yield Input(value=self._initial, id="prompt-input", placeholder=self._placeholder or t("prompt.placeholder"))
            yield from self.footer_lines()

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self._required and not text:
            self.show_error(t("prompt.required"))
            return
        if self._check is not None:
            try:
                self._check(text)
            except MitraError as error:
                self.show_error(describe_error(error))
                return
        self.dismiss(text)
