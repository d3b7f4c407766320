"""The footer, with binding descriptions translated at render time.

Bindings carry a catalog key as their description ("keys.help"); translating when the footer is
drawn lets the language change while the console runs.
"""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

from tui.i18n import t


# Textual's own bindings carry English words, not catalog keys.
BUILTIN = {"palette": "keys.palette", "Open the command palette": "keys.palette_tooltip"}


def _text(description: str) -> str:
    return t(BUILTIN.get(description, description))


class TranslatedFooter(Footer):
    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _text(widget.description)
                if widget.tooltip:
                    widget.tooltip = _text(str(widget.tooltip))
            elif isinstance(widget, FooterLabel):
                widget.update(_text(str(widget.content)))
            yield widget
