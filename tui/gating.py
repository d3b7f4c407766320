"""Keys the operator's roles do not allow are not offered.

    class SchemeScreen(PermissionGate, ServiceCaller, Screen):   # screens/curation_scheme.py
        ACTION_PERMISSIONS = {"threshold": "scheme.change", "weight": "scheme.change"}

`check_action` hides an action whose permission the operator lacks (the store refuses it anyway;
this only keeps the footer honest). Screens with state-dependent conditions override
`check_action`, call `super()` first and return None (shown, disabled) when the state forbids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.app_access import InConsole

if TYPE_CHECKING:
    from store.allowed import Actions


class PermissionGate(InConsole):
    ACTION_PERMISSIONS: dict[str, str] = {}

    def allowed(self, permission: str) -> bool:
        """Whether the logged-in operator's roles allow `permission`."""
        actor = self.app.actor
        return actor is not None and actor.can(permission)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        permission = self.ACTION_PERMISSIONS.get(action)
        return permission is None or self.allowed(permission)


class ActionsGate:
    """Keys follow the store's answer to "what may this operator do on this record now"
    (store/allowed.py): an action the store allows is offered; one that applies but is refused
    now (maker-checker, a missing document ...) is shown disabled, its reason on the screen
    (`held_back_text`); the rest are not offered. The screen sets `store_actions` when it loads
    the record and calls `refresh_bindings()`."""

    store_actions: Actions | None = None  # of the record on screen, once loaded

    def gate(self, action: str) -> bool | None:
        actions = self.store_actions
        if actions is None:  # not loaded yet: nothing is offered
            return False
        if action not in actions or actions.allowed(action):
            return True
        return None if actions.applies(action) else False

    def held_back_text(self, labels: dict[str, str]) -> str:
        """One line per action that applies but is refused now: the key's label and why."""
        from tui.i18n import describe_error, t

        actions = self.store_actions
        if actions is None:
            return ""
        return "\n".join(
            t("actions.held_back", action=t(labels[action]), reason=describe_error(refusal))
            for action, refusal in actions.held_back.items() if action in labels
        )
