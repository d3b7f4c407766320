"""A checkbox whose state reads without colour: "X" when ticked, blank when not.

Textual's checkbox draws an "X" either way and tells them apart by colour only, which is lost
in monochrome terminals and the ANSI theme over SSH.
"""

from __future__ import annotations

from textual.widgets import Checkbox


class PlainCheckbox(Checkbox):
    # Textual declares the mark a plain class attribute, set once; read at each render, it may as
    # well follow the value (nothing assigns it).
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802 - Textual's name for the mark
        return "X" if self.value else " "
