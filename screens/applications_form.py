"""Entering a new platform application by hand (the same checks as `mitra import applications`)."""

from __future__ import annotations

import dataclasses

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input

from store.errors import MitraError
from store.models import LegalForm
from store.services.application_intake import ApplicationInput, submit_application
from tui.i18n import describe_error, t
from tui.widgets.plain import Label, Select, Static
from tui.workers import ServiceCaller

TEXT_FIELDS = [field.name for field in dataclasses.fields(ApplicationInput) if field.name != "legal_form"]


class ApplicationForm(ServiceCaller, ModalScreen[int | None]):
    """Dismisses with the new application's id, or None when cancelled."""

    DEFAULT_CSS = """
    ApplicationForm { align: center middle; }
    ApplicationForm > Vertical {
        width: 96; height: 90%; border: thick $accent; background: $surface; padding: 0 2;
    }
    ApplicationForm #form-title { text-style: bold; margin: 1 0; }
    ApplicationForm VerticalScroll { height: 1fr; }
    ApplicationForm Label { margin-top: 1; }
    ApplicationForm #form-error { color: $error; height: auto; }
    ApplicationForm #form-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "keys.save", id="mitra.application_form.save"),
        Binding("escape", "cancel", "keys.cancel", id="mitra.application_form.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("applications.form_title"), id="form-title")
            with VerticalScroll():
                for name in ("legal_name", "brand_name"):
                    yield from self._field(name)
                yield Label(t("field.legal_form"))
                yield Select(
                    [(t("applications.form." + form.value), form.value) for form in LegalForm],
                    value=LegalForm.PT.value, allow_blank=False, id="form-legal_form",
                )
                for name in TEXT_FIELDS[2:]:
                    yield from self._field(name)
            yield Static("", id="form-error")
            yield Static(t("applications.form_hint"), id="form-hint")

    def _field(self, name: str) -> ComposeResult:
        yield Label(t("field." + name))
        yield Input(id=f"form-{name}", placeholder=t("applications.form_placeholder." + name))

    def on_mount(self) -> None:
        self.query_one("#form-legal_name", Input).focus()

    def _data(self) -> ApplicationInput:
        values = {name: self.query_one(f"#form-{name}", Input).value for name in TEXT_FIELDS}
        values["legal_form"] = str(self.query_one("#form-legal_form", Select).value)
        return ApplicationInput(**values)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last one it saves."""
        event.stop()
        if event.input.id == f"form-{TEXT_FIELDS[-1]}":
            self.action_save()
        else:
            self.focus_next()

    def action_save(self) -> None:
        self.query_one("#form-error", Static).update(t("applications.form_saving"))
        self.call(submit_application, self._data(), then=self.dismiss, on_error=self._refused)

    def _refused(self, error: MitraError) -> None:
        self.query_one("#form-error", Static).update(describe_error(error))
        field = error.params.get("field")
        if field:
            for widget in self.query(f"#form-{field}"):
                widget.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
