"""A checkbox whose state reads without colour: "X" when ticked, blank when not.

Textual's checkbox draws an "X" either way and tells them apart by colour only, which is lost
in monochrome terminals and the ANSI theme over SSH.
"""

from __future__ import annotations

from textual.widgets import Checkbox


class PlainCheckbox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual's name for the mark
        return "X" if self.value else " "
