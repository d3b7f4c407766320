"""Keys the operator's roles do not allow are not offered.

    class BatchScreen(PermissionGate, ServiceCaller, Screen):
        ACTION_PERMISSIONS = {"approve": "payment.approve", "submit": "payment.prepare"}

`check_action` hides an action whose permission the operator lacks (the store refuses it anyway;
this only keeps the footer honest). Screens with state-dependent conditions override
`check_action`, call `super()` first and return None (shown, disabled) when the state forbids.
"""

from __future__ import annotations


class PermissionGate:
    ACTION_PERMISSIONS: dict[str, str] = {}

    def allowed(self, permission: str) -> bool:
        """Whether the logged-in operator's roles allow `permission`."""
        actor = self.app.actor
        return actor is not None and actor.can(permission)

    def check_action(self, action: str, parameters) -> bool | None:
        permission = self.ACTION_PERMISSIONS.get(action)
        return permission is None or self.allowed(permission)
