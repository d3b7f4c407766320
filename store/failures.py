"""Turn driver exceptions into the store's typed errors.

Classified by SQLSTATE on PostgreSQL and by the SQLite error name, not by driver class: the same
failure surfaces as different classes through asyncpg, aiosqlite and SQLAlchemy, and a refused
connection can even surface as a bare OSError.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

from store.errors import Conflict, DatabaseUnavailable, InvalidInput, MitraError, RuleViolation
from store.validators import MAX_AMOUNT_IDR

# Constraint (or SQLite "table.column") -> message key, for constraints whose violation is a
# business rule an operator can understand. Areas register theirs with `explain_constraint`.
_CONSTRAINT_KEYS: dict[str, tuple[type[MitraError], str]] = {}


def explain_constraint(names: str | tuple[str, ...], key: str, kind: type[MitraError] = RuleViolation) -> None:
    for name in (names,) if isinstance(names, str) else names:
        _CONSTRAINT_KEYS[name] = (kind, key)


_PG_CONNECTION_CLASSES = ("08", "57P", "53")  # connection exceptions, shutdown, resources
_PG_DATA = {
    "22001": "input.too_long_unnamed", "22003": "input.amount_too_large", "22021": "input.control_characters",
    "22P05": "input.control_characters",
}
_PG_AUTH = {"28P01": "db.bad_password", "28000": "db.bad_password"}
# Guard triggers raise "mitra-rule:<message key>" (see migration 0601).
_TRIGGER_RULE = re.compile(r"mitra-rule:([a-z_]+(?:\.[a-z_]+)+)")
_SQLITE_MESSAGE = re.compile(r"(UNIQUE|CHECK|FOREIGN KEY|NOT NULL) constraint failed: ?(.*)")


def _sqlstate(error: BaseException) -> str | None:
    for candidate in (error, getattr(error, "__cause__", None)):
        for attribute in ("sqlstate", "pgcode"):
            value = getattr(candidate, attribute, None)
            if isinstance(value, str):
                return value
    return None


def _constraint_name(error: BaseException) -> str | None:
    for candidate in (error, getattr(error, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str) and name:
            return name
    match = _SQLITE_MESSAGE.search(str(error))
    if match:
        return match.group(2).split(",")[0].strip()
    return None


def classify(error: BaseException, *, url_label: str = "") -> MitraError | None:
    """The typed error for a low-level failure, or None when it is not a database failure."""
    if isinstance(error, MitraError):
        return error
    if isinstance(error, OverflowError):  # SQLite's driver: a number past 64 bits
        return InvalidInput("input.amount_too_large", field="amount", max_idr=MAX_AMOUNT_IDR)
    if isinstance(error, StaleDataError):
        return Conflict("record.changed")
    if isinstance(error, (ConnectionError, asyncio.TimeoutError, TimeoutError)):
        return DatabaseUnavailable("db.unreachable", target=url_label)
    if isinstance(error, OSError):
        # Unknown host (gaierror), refused, unreachable network: all are "cannot reach".
        return DatabaseUnavailable("db.unreachable", target=url_label)
    original: BaseException | None
    if isinstance(error, sa_exc.DBAPIError):
        original = error.orig
    elif _from_a_driver(error):  # a driver's own call (store/bulk.py: COPY, executemany), not SQLAlchemy's
        original = error
    else:
        return None
    state = _sqlstate(original) if original is not None else None
    sqlite_name = getattr(original, "sqlite_errorname", None) or ""
    if state in _PG_DATA:  # values the column cannot hold: never an "unexpected error"
        key = _PG_DATA[state]
        return InvalidInput(key, field="value", max_idr=MAX_AMOUNT_IDR, max="?")
    if state in _PG_AUTH:
        return DatabaseUnavailable(_PG_AUTH[state], target=url_label)
    if state == "3D000":
        return DatabaseUnavailable("db.no_such_database", target=url_label)
    if state and state.startswith(_PG_CONNECTION_CLASSES):
        return DatabaseUnavailable("db.unreachable", target=url_label)
    if state in {"40001", "40P01"} or sqlite_name in {"SQLITE_BUSY", "SQLITE_LOCKED"}:
        return Conflict("db.busy")
    if state == "55P03" or state == "57014":  # lock_timeout, statement_timeout
        return Conflict("db.busy")
    if sqlite_name in {"SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_FULL"}:
        return DatabaseUnavailable("db.file_unusable", target=url_label, detail=sqlite_name)
    if "append-only" in str(original):  # the audit log's triggers
        return RuleViolation("audit.append_only")
    rule = _TRIGGER_RULE.search(str(original))
    if rule:
        return RuleViolation(rule.group(1))
    if isinstance(error, sa_exc.IntegrityError) or isinstance(original, sqlite3.IntegrityError) \
            or (state or "").startswith("23"):
        name = _constraint_name(original or error)
        if name in _CONSTRAINT_KEYS:
            kind, key = _CONSTRAINT_KEYS[name]
            return kind(key, constraint=name)
        if state == "23505" or "UNIQUE" in str(original):
            return Conflict("db.duplicate", constraint=name or "?")
        return RuleViolation("db.constraint", constraint=name or "?")
    if getattr(error, "connection_invalidated", False):
        return DatabaseUnavailable("db.connection_lost", target=url_label)
    return None


def _from_a_driver(error: BaseException) -> bool:
    """An exception of sqlite3 or asyncpg themselves. asyncpg is only asked where it is loaded:
    where it is not, none of its exceptions can have been raised."""
    if isinstance(error, sqlite3.Error):
        return True
    asyncpg = sys.modules.get("asyncpg")
    return asyncpg is not None and isinstance(error, asyncpg.PostgresError)


@contextmanager
def typed_errors(url_label: str = "") -> Iterator[None]:
    """Re-raise database failures inside the block as the store's typed errors."""
    try:
        yield
    except Exception as error:
        typed = classify(error, url_label=url_label)
        if typed is None or typed is error:
            raise
        raise typed from error
