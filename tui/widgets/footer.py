"""The footer, with binding descriptions translated at render time.

Bindings carry a catalog key as their description ("keys.help"); translating when the footer is
drawn lets the language change while the console runs.
"""

from __future__ import annotations

from textual import widgets
from textual.widgets import Footer

from tui.i18n import t

# Textual's own bindings carry English words, not catalog keys.
BUILTIN = {"palette": "keys.palette", "Open the command palette": "keys.palette_tooltip"}


def _text(description: str) -> str:
    return t(BUILTIN.get(description, description))


class TranslatedFooter(Footer):
    # What the footer last showed. Textual rebuilds a footer's keys whenever the screen's bindings
    # may have changed (each focus change, each refresh of the bindings); most times they have
    # not, and the rebuild (a widget and a restyle per key) was a sixth of the console's CPU.
    _showing: tuple | None = None

    def _what_it_would_show(self) -> tuple:
        app = self.app
        return (self.show_command_palette, tuple(
            (binding.key, app.get_key_display(binding), _text(binding.description), binding.action, enabled,
             tooltip and _text(tooltip), binding.group)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.key == app.COMMAND_PALETTE_BINDING
        ))

    async def recompose(self) -> None:
        if self.is_attached and self._showing != self._what_it_would_show():
            await super().recompose()

    def compose(self):
        showing, shown_any = self._what_it_would_show(), False
        # Textual's footer yields a key widget per binding (it has a `description`) and a label
        # per key group; their classes live in a private module, so they are told apart by what
        # they hold rather than imported.
        for widget in super().compose():
            if isinstance(widget, widgets.Label):  # Textual's own, not tui/widgets/plain.py's
                widget.update(_text(str(widget.content)))
            elif isinstance(getattr(widget, "description", None), str):
                widget.description = _text(widget.description)
                if widget.tooltip:
                    widget.tooltip = _text(str(widget.tooltip))
            shown_any = True
            yield widget
        # Before its screen's bindings are ready a footer shows nothing; that is never kept.
        self._showing = showing if shown_any else None
