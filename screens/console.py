"""The console a screen runs in, typed: `self.app` is the MitraApp; and the record a screen shows.

Textual types `self.app` as any App, so the console's own parts (its operator, `show_error`,
`logged_in` ...) would be unknown to the type checker. A screen or widget that lists `InConsole`
first among its bases sees `self.app` as the MitraApp it always is (the console starts no other
app), and has its logged-in operator as `self.operator`. Nothing changes at run time: Textual's
own `app` still answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from textual import getters
    from textual.message_pump import MessagePump as _Node  # what the mixin is mixed into

    from store.actor import Actor
    from tui.app import MitraApp
else:
    _Node = object


class InConsole(_Node):
    """Mixin for the console's screens and widgets (first among the bases)."""

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


Record = TypeVar("Record")


def loaded(record: Record | None) -> Record:
    """The record on screen, for a key that acts on it. Such keys are offered only once it is
    loaded, and withdrawn while another one loads (each screen's check_action)."""
    assert record is not None, "a key acted on a record not loaded yet"
    return record
