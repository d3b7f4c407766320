"""The console's app as the type checker should see it, from its widgets, screens and mixins.

Textual types `self.app` as any App, while the console's own state (the operator, the database,
its way of showing an error) lives on MitraApp: `mitra_app(self)` is `self.app`, typed so.
`NodeMixin` is the base of a mixin for widgets and screens (`ServiceCaller`, `PermissionGate`):
a DOMNode to the type checker, so that the mixin's own methods may use what a node has; nothing
at run time, where the widget or screen it is mixed into brings the node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

    from tui.app import MitraApp

    NodeMixin = DOMNode
else:
    NodeMixin = object


class InApp(Protocol):
    """What belongs to an app: a widget, a screen, a palette's command provider."""

    @property
    def app(self) -> App[object]: ...


def mitra_app(node: InApp) -> MitraApp:
    """The console `node` belongs to."""
    # Not checked: the tests run widgets in smaller apps that stand in for the console.
    return cast("MitraApp", node.app)
