"""Forms of the Providers area: one modal that lays out fields, confirms when asked, runs the
store service and shows its refusal beside the fields (the typed values stay)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from store.errors import MitraError
from tui.i18n import t
from tui.widgets.checkbox import PlainCheckbox
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import Label, Select, Static
from tui.widgets.refusal import show_refusal
from tui.workers import Job, ServiceCaller, job

__all__ = ["FormField", "FormScreen", "job"]



@dataclass
class FormField:
    name: str  # the name the store's errors use for it (`field=`), and the key of the values
    label: str  # catalog key
    kind: str = "text"  # text | select | check
    value: Any = ""
    options: Sequence[tuple[str, Any]] = field(default_factory=list)
    placeholder: str = ""  # catalog key


class FormScreen(ServiceCaller, ModalScreen[Any]):
    """Dismisses with the service's result, or None when cancelled.

    `action(values)` gives the job to run; `confirm(values)`, when set, gives the (title, body)
    of the confirmation shown first (it may raise an input error, shown beside the fields).
    """

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical {
        width: 84; height: auto; max-height: 100%; border: thick $accent; background: $surface; padding: 0 2;
    }
    FormScreen #form-title { text-style: bold; margin: 1 0; }
    FormScreen #form-intro { color: $text-muted; margin-bottom: 1; }
    /* The fields scroll; the title, the error and the buttons stay (at 24 rows too). */
    FormScreen VerticalScroll { height: 1fr; max-height: 26; }
    FormScreen .form-row { height: auto; }
    FormScreen .form-label { width: 26; }
    FormScreen .form-row Input, FormScreen .form-row Select { width: 1fr; background: $boost; }
    FormScreen .form-row Input:focus, FormScreen .form-row Select:focus { background: $primary 30%; }
    FormScreen #form-error { color: $error; height: auto; margin-top: 1; }
    FormScreen #form-buttons { height: auto; align-horizontal: right; margin: 1 0; }
    FormScreen #form-buttons Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "providers.key.save", id="mitra.form.save"),
        Binding("escape", "cancel", "providers.key.cancel", id="mitra.form.cancel"),
    ]

    def __init__(
        self,
        title: str,
        fields: Sequence[FormField],
        action: Callable[[dict[str, Any]], Job],
        *,
        intro: str = "",
        confirm: Callable[[dict[str, Any]], tuple[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._fields = list(fields)
        self._action = action
        self._intro = intro
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title), id="form-title")
            if self._intro:
                yield Static(Text(self._intro), id="form-intro")
            with VerticalScroll():
                for spec in self._fields:
                    with Horizontal(classes="form-row"):
                        yield Label(t(spec.label), classes="form-label")
                        yield self._widget(spec)
            yield Static("", id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button(t("providers.key.cancel"), id="form-cancel", compact=True)
                yield Button(t("providers.key.save"), id="form-save", variant="primary", compact=True)
        yield TranslatedFooter()  # ctrl+s saves from any field

    @staticmethod
    def _widget(spec: FormField):
        widget_id = f"field-{spec.name}"
        if spec.kind == "select":
            known = any(value == spec.value for _label, value in spec.options)
            return Select(
                list(spec.options), value=spec.value if known else Select.NULL, allow_blank=False, id=widget_id,
                compact=True,
            )
        if spec.kind == "check":
            return PlainCheckbox(t("providers.yes"), value=bool(spec.value), id=widget_id, compact=True)
        return Input(
            str(spec.value or ""), placeholder=t(spec.placeholder) if spec.placeholder else "", id=widget_id,
            compact=True,
        )

    def on_mount(self) -> None:
        for widget in self.query("Input, Select, Checkbox"):
            widget.focus()
            break

    def values(self) -> dict[str, Any]:
        return {spec.name: self._value(spec) for spec in self._fields}

    def _value(self, spec: FormField) -> Any:
        """What the field's widget holds (as _widget made it for the field's kind)."""
        widget_id = f"#field-{spec.name}"
        if spec.kind == "select":
            return self.query_one(widget_id, Select).value
        if spec.kind == "check":
            return self.query_one(widget_id, PlainCheckbox).value
        return self.query_one(widget_id, Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        values = self.values()
        if self._confirm is None:
            self._run(values)
            return
        try:
            title, body = self._confirm(values)
        except MitraError as error:
            self.refused(error)
            return
        self.app.push_screen(ConfirmScreen(Text(title), Text(body)), lambda yes: self._run(values) if yes else None)

    def _run(self, values: dict[str, Any]) -> None:
        self.query_one("#form-error", Static).update(t("providers.saving"))
        self.call(self._action(values), then=self.dismiss, on_error=self.refused, group="form")

    def refused(self, error: MitraError) -> None:
        show_refusal(self, error, "field-")
