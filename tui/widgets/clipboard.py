"""`y` everywhere: a record's reference onto the operator's own clipboard."""

from __future__ import annotations

from tui.i18n import t


def copy_reference(app, reference: str | None) -> None:
    """Put `reference` on the operator's clipboard: OSC 52, which the terminal (or the SSH
    client's terminal) honours; say what was copied, or that this record has none."""
    if not reference:
        app.notify(t("copy.none"), severity="warning")
        return
    app.copy_to_clipboard(reference)
    app.notify(t("copy.done", reference=reference))
