"""Typed errors with a sentence fit for an operator.

Each error names a message key and its parameters; the front ends translate the key
(`tui/locales/*/errors.toml`, through `tui.i18n.describe_error`) so the same error reads well
in English and Indonesian. `str(error)` is the key and parameters, for logs and developers.
"""

from __future__ import annotations

from typing import Any


class MitraError(Exception):
    """Base of every error an operator may see."""

    kind = "error"

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        if not self.params:
            return self.key
        details = ", ".join(f"{name}={value!r}" for name, value in self.params.items())
        return f"{self.key} ({details})"


class ConfigError(MitraError):
    """The configuration (URL, option) cannot be used."""

    kind = "config"


class PermissionDenied(MitraError):
    """The acting operator's roles or scope do not allow this."""

    kind = "permission"


class RuleViolation(MitraError):
    """A business rule refuses the operation; the key names the rule."""

    kind = "rule"


class Stopped(RuleViolation):
    """A long operation stopped between its parts because the operator asked it to: what it has
    written stays written. Not a failure; the screens say so."""


class NotFound(MitraError):
    kind = "not_found"


class Conflict(MitraError):
    """The record changed since the operator read it, or a uniqueness rule was hit."""

    kind = "conflict"


class InvalidInput(MitraError):
    """A field's value is malformed; params carry `field` and the reason."""

    kind = "input"


class AuthenticationFailed(MitraError):
    kind = "auth"


class SessionEnded(MitraError):
    """The operator was deactivated, or their roles changed, since they logged in: log in again."""

    kind = "session"


class DatabaseUnavailable(MitraError):
    """The database cannot be reached or refused the connection."""

    kind = "database"


class SchemaMismatch(MitraError):
    """The database is at another schema revision than this code expects."""

    kind = "schema"
