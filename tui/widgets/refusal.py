"""A refusal shown where the operator is: in the form, beside its fields, with what was typed."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from store.errors import MitraError
from tui.i18n import describe_error
from tui.widgets.plain import Static


def show_refusal(form: Widget, error: MitraError, field_prefix: str) -> None:
    """The error in the form's `#form-error`; focus goes to the field the error names."""
    form.query_one("#form-error", Static).update(Text(describe_error(error)))
    name = error.params.get("field")
    if name and form.query(f"#{field_prefix}{name}"):
        form.query_one(f"#{field_prefix}{name}").focus()
