"""The acting operator, as every service receives it."""

from __future__ import annotations

from dataclasses import dataclass

from store.errors import PermissionDenied
from store.models import Role
from store.permissions import roles_for


@dataclass(frozen=True)
class Actor:
    operator_id: int | None
    username: str
    roles: frozenset[str]
    platform_id: int | None = None
    platform_code: str | None = None
    full_name: str = ""
    # The console session this actor acts in (store/services/sessions.py); None for a command line.
    session_token: str | None = None
    # How this session came in, recorded on each of its audited actions: for an SSH login by key,
    # (("ssh_key", fingerprint), ("peer", client address)). Empty for a password login.
    via: tuple[tuple[str, str], ...] = ()

    @property
    def is_platform_staff(self) -> bool:
        return self.platform_id is not None

    def can(self, permission: str) -> bool:
        return bool(self.roles & roles_for(permission))

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied("permission.denied", permission=permission, operator=self.username)

    def require_platform(self, platform_ids: int | set[int] | frozenset[int] | None) -> None:
        """Platform staff may touch only records of their own platform."""
        if not self.is_platform_staff:
            return
        owned = {platform_ids} if isinstance(platform_ids, int) else set(platform_ids or ())
        if self.platform_id not in owned:
            raise PermissionDenied("permission.other_platform", operator=self.username)

    def sees_platform(self, platform_id: int | None) -> bool:
        return not self.is_platform_staff or platform_id == self.platform_id


# Acts for the system itself when no operator exists yet (creating the very first admin).
SYSTEM = Actor(operator_id=None, username="system", roles=frozenset({Role.ADMIN}))
