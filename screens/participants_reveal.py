"""Revealing one personal field of a participant: which field (those the operator's roles may
reveal), and why. The store checks the permission and the scope and audits the reveal; the value
shows in the prompt and Ctrl+Y copies it (OSC 52, where the terminal allows it)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from store.errors import MitraError
from store.personal_data import REVEALABLE
from store.services import registry
from tui.i18n import describe_error, t
from tui.widgets.plain import Label, Select, Static
from tui.widgets.prompt import PromptScreen
from tui.workers import ServiceCaller, job


class RevealPrompt(ServiceCaller, PromptScreen):
    BINDINGS = [Binding("ctrl+y", "copy", "participants.key.copy", id="mitra.reveal.copy")]

    def __init__(self, participant_id: int, name: str, fields: list[str]) -> None:
        super().__init__(t("participants.reveal.title", name=name))
        self._participant_id = participant_id
        self._fields = fields
        self.value: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.title_label()
            yield Label(t("participants.reveal.field"))
            yield Select([(t(f"field.{name}"), name) for name in self._fields], value=self._fields[0],
                         allow_blank=False, id="reveal-field")
            yield Label(t("field.reason"))
            yield Input(id="reveal-reason", placeholder=t("participants.reveal.reason_placeholder"))
            yield Static("", id="reveal-value")
            yield from self.footer_lines()

    def on_mount(self) -> None:
        self.query_one("#reveal-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = str(self.query_one("#reveal-field", Select).value)
        self.show_error("")
        self.call(job(registry.reveal, self._participant_id, field, event.value), then=self._revealed,
                  on_error=self._refused)

    def _refused(self, error: MitraError) -> None:
        self.show_error(describe_error(error))

    def _revealed(self, value: str) -> None:
        self.value = value
        field = str(self.query_one("#reveal-field", Select).value)
        self.query_one("#reveal-value", Static).update(
            t("participants.reveal.shown", field=t(f"field.{field}"), value=value or "-")
        )

    def action_copy(self) -> None:
        if self.value:
            self.app.copy_to_clipboard(self.value)
            self.app.notify(t("participants.reveal.copied"))


def revealable_fields(actor) -> list[str]:
    return [field for field, permission in REVEALABLE.items() if actor.can(permission)]
