"""The footer, with binding descriptions translated at render time.

Bindings carry a catalog key as their description ("keys.help"); translating when the footer is
drawn lets the language change while the console runs.
"""

from __future__ import annotations

from textual.widgets import Footer, Label

from tui.i18n import t


# Textual's own bindings carry English words, not catalog keys.
BUILTIN = {"palette": "keys.palette", "Open the command palette": "keys.palette_tooltip"}


def _text(description: str) -> str:
    return t(BUILTIN.get(description, description))


class TranslatedFooter(Footer):
    def compose(self):
        # Textual's footer yields a key widget per binding (it has a `description`) and a label
        # per key group; their classes live in a private module, so they are told apart by what
        # they hold rather than imported.
        for widget in super().compose():
            if isinstance(widget, Label):
                widget.update(_text(str(widget.content)))
            elif isinstance(getattr(widget, "description", None), str):
                widget.description = _text(widget.description)
                if widget.tooltip:
                    widget.tooltip = _text(str(widget.tooltip))
            yield widget
