"""The console's app as the type checker should see it, from its screens, widgets and mixins.

Textual types `self.app` as any App, so the console's own parts (its operator, `show_error`,
`logged_in` ...) would be unknown to the type checker. A screen, widget or mixin that has
`InConsole` among its bases sees `self.app` as the MitraApp it always is (the console starts no
other app), and has its logged-in operator as `self.operator`. The console's mixins
(`ServiceCaller`, `PermissionGate`) are built on it, so everything that calls the store has it;
a class lists it itself only when none of its other bases brings it. Nothing changes at run time:
Textual's own `app` still answers (and tests may run a widget in a smaller app).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual import getters
    from textual.dom import DOMNode as _Node  # what the mixin is mixed into: a screen, a widget, the app

    from store.actor import Actor
    from tui.app import MitraApp
else:
    _Node = object


class InConsole(_Node):
    """Mixin for the console's screens, widgets and mixins."""

    if TYPE_CHECKING:
        # Textual's own way to type `app` (textual.getters.app), declared for the type checker
        # only: at run time it would import tui.app, which imports the login screen.
        app = getters.app(MitraApp)

    @property
    def operator(self) -> Actor:
        """The logged-in operator. Only the login screen is shown to nobody: the shell and all
        behind it are built once an operator has logged in (MitraApp.logged_in)."""
        actor = self.app.actor
        assert actor is not None, "a screen behind the login ran with nobody logged in"
        return actor
