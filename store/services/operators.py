"""Operators: log in, create, deactivate. Logins and failed logins are audited."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import SYSTEM, Actor
from store.engine import Database
from store.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from store.models import Operator, OperatorRole, Platform, Role, utcnow
from store.passwords import check_password, hash_password
from store.services import sessions, settings
from store.operation import operation
from store.uow import UnitOfWork, read_session

MIN_PASSWORD_LENGTH = 4


@dataclass(frozen=True)
class OperatorView:
    id: int
    username: str
    full_name: str
    roles: tuple[str, ...]
    platform_code: str | None
    is_active: bool
    locked_until: dt.datetime | None = None  # set while a lockout lasts

    def locked(self, now: dt.datetime) -> bool:
        return _lockout_end(self.locked_until, now) is not None


async def _roles_of(session: AsyncSession, operator: Operator) -> frozenset[str]:
    rows = await session.execute(select(col(OperatorRole.role)).where(col(OperatorRole.operator_id) == operator.id))
    return frozenset(rows.scalars())


async def _platform_code(session: AsyncSession, platform_id: int | None) -> str | None:
    if platform_id is None:
        return None
    return (
        await session.execute(select(col(Platform.code)).where(col(Platform.id) == platform_id))
    ).scalar_one_or_none()


async def operator_count(db: Database) -> int:
    async with read_session(db) as session:
        return (await session.execute(select(func.count()).select_from(Operator))).scalar_one()


def _normalise_username(username: str) -> str:
    cleaned = (username or "").strip().lower()
    if not cleaned or len(cleaned) > 64 or not all(ch.isalnum() or ch in "._-" for ch in cleaned):
        raise InvalidInput("input.username", field="username", value=username)
    return cleaned


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so they take as long to refuse as known ones."""
    return hash_password(secrets.token_hex(16))


async def login(
    db: Database, username: str, password: str, *, defer_record: bool = False,
    session_from: tuple[str, str] | None = None,
) -> Actor:
    """Check credentials; audit the login or the failure. Raises AuthenticationFailed.

    The check itself only reads, so it works while another process holds SQLite's write lock.
    An unknown name, a wrong password, a deactivated account and a locked one (unless the password
    was right) all answer "auth.failed" after the same work. Consecutive failures lock the account
    (settings `operators.lockout_failures` and `operators.lockout_minutes`). With `defer_record`
    the login's own write (its audit event) runs in the background, before the next unit of work
    or when the database is disposed: a read-only command need not wait for a long writer. A
    console passes `session_from` (origin, peer): its session is recorded with the login."""
    name = (username or "").strip().lower()
    async with read_session(db) as session:
        operator = (await session.execute(select(Operator).where(col(Operator.username) == name))).scalar_one_or_none()
        roles = await _roles_of(session, operator) if operator else frozenset()
        platform_code = await _platform_code(session, operator.platform_id) if operator else None
    ok = check_password(password, operator.password_hash if operator else _dummy_hash())
    now = utcnow()
    locked_until = _lockout_end(operator.locked_until, now) if operator is not None else None
    if operator is None or not ok or not operator.is_active or locked_until is not None:
        tried = Actor(operator.id if operator else None, name or "?", frozenset())
        await _record_failure(db, tried, name, ok)
        if ok and operator is not None:  # the password was right: say what stands in the way
            if not operator.is_active:
                raise AuthenticationFailed("auth.inactive")
            if locked_until is not None:
                raise AuthenticationFailed("auth.locked", until=locked_until.strftime("%H:%M UTC"))
        raise AuthenticationFailed("auth.failed")
    actor = Actor(operator.id, operator.username, roles, operator.platform_id, platform_code, operator.full_name,
                  session_token=sessions.new_token() if session_from else None)
    if session_from:
        sessions.session_row(actor, *session_from)  # a bad origin is refused now, not in the background
    if defer_record:
        db.defer(lambda database: _record_login_when_free(database, actor, session_from))
    else:
        await _record_login(db, actor, session_from)
    return actor


async def login_by_key(db: Database, username: str, fingerprint: str, peer: str, method: str = "key") -> Actor:
    """An SSH login: `mitra serve ssh` checked the client's key and hands the console this
    operator (tui/ssh_handoff.py). By key ("key"), the key must still belong to this active
    operator; by a certificate of the server's trusted authority ("certificate", the fingerprint is
    the authority's, "ca:SHA256:..."), the operator must still be active. The session and every audited action
    of it carry the fingerprint and the client's address."""
    from store.models import OperatorKey

    name = (username or "").strip().lower()
    query = select(Operator).where(col(Operator.username) == name)
    if method != "certificate":
        query = query.join(OperatorKey, col(OperatorKey.operator_id) == col(Operator.id)).where(
            col(OperatorKey.fingerprint) == fingerprint)
    async with read_session(db) as session:
        operator = (await session.execute(query)).scalar_one_or_none()
        if operator is None or not operator.is_active:
            raise AuthenticationFailed("auth.inactive" if operator is not None else "auth.failed")
        roles = await _roles_of(session, operator)
        platform_code = await _platform_code(session, operator.platform_id)
    actor = Actor(operator.id, operator.username, roles, operator.platform_id, platform_code, operator.full_name,
                  session_token=sessions.new_token(), via=(("ssh_key", fingerprint), ("peer", peer[:200])))
    await _record_login(db, actor, ("ssh", peer))
    return actor


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _lockout_end(locked_until: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    """When the lockout ends, if one lasts at `now`."""
    if locked_until is None or _aware(locked_until) <= now:
        return None
    return _aware(locked_until)


@operation
async def _record_login(uow: UnitOfWork, session_from: tuple[str, str] | None = None) -> None:
    if session_from:
        uow.session.add(sessions.session_row(uow.actor, *session_from))
    operator = await uow.session.get(Operator, uow.actor.operator_id)
    if operator is None:  # removed since the login read it
        raise NotFound("operator.not_found", username=uow.actor.username)
    operator.failed_logins = 0
    operator.locked_until = None
    operator.last_login_at = utcnow()
    uow.audit("operator.login", "operator", operator.id)


async def _record_login_when_free(db: Database, actor: Actor, session_from: tuple[str, str] | None = None,
                                  attempts: int = 4) -> None:
    """The deferred login record: a writer may hold SQLite's lock past one busy timeout."""
    for attempt in range(attempts):
        try:
            return await _record_login(db, actor, session_from)
        except Conflict as busy:
            if busy.key != "db.busy" or attempt == attempts - 1:
                raise


@operation
async def _record_failure(uow: UnitOfWork, name: str, password_right: bool) -> None:
    """Count the failure (locking the account at the limit) and audit it under the name tried
    (the unit of work's actor: the operator of that name, if there is one)."""
    operator_id = uow.actor.operator_id
    operator = await uow.session.get(Operator, operator_id) if operator_id else None
    if operator is None:
        uow.audit("operator.login_failed", "operator", name, details={"reason": "bad_credentials"})
        return
    now = utcnow()
    if _lockout_end(operator.locked_until, now) is not None:
        uow.audit("operator.login_failed", "operator", operator.id, details={"reason": "locked"})
        return
    operator.failed_logins += 1
    reason = "inactive" if password_right and not operator.is_active else "bad_credentials"
    uow.audit("operator.login_failed", "operator", operator.id, details={"reason": reason})
    limit = await settings.get_in(uow.session, "operators.lockout_failures")
    if reason == "bad_credentials" and limit and operator.failed_logins >= limit:
        minutes = await settings.get_in(uow.session, "operators.lockout_minutes")
        operator.locked_until = now + dt.timedelta(minutes=minutes)
        uow.audit("operator.locked", "operator", operator.id,
                  details={"failures": operator.failed_logins, "until": operator.locked_until})


@operation
async def unlock(uow: UnitOfWork, username: str) -> None:
    """An admin lifts a lockout (and the count of failures behind it)."""
    uow.actor.require("operator.manage")
    username = _normalise_username(username)
    operator = (
        await uow.session.execute(select(Operator).where(col(Operator.username) == username))
    ).scalar_one_or_none()
    if operator is None:
        raise NotFound("operator.not_found", username=username)
    uow.audit("operator.unlocked", "operator", operator.id,
              before={"failed_logins": operator.failed_logins}, after={"failed_logins": 0})
    operator.failed_logins = 0
    operator.locked_until = None


async def create_operator(
    db: Database,
    actor: Actor | None,
    username: str,
    password: str,
    roles: list[str] | tuple[str, ...],
    *,
    platform_code: str | None = None,
    full_name: str = "",
) -> OperatorView:
    """Add an operator. With no operator in the database, the first one needs no actor and must
    be an admin; after that only an admin may add operators."""
    # Not an operation itself: the very first operator is created with no actor (as SYSTEM).
    return await _create_operator(
        db, actor or SYSTEM, username, password, roles, platform_code=platform_code, full_name=full_name,
        signed_in=actor is not None,
    )


@operation
async def _create_operator(
    uow: UnitOfWork,
    username: str,
    password: str,
    roles: list[str] | tuple[str, ...],
    *,
    platform_code: str | None,
    full_name: str,
    signed_in: bool,
) -> OperatorView:
    username = _normalise_username(username)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput("input.password_short", field="password", min=MIN_PASSWORD_LENGTH)
    wanted = _check_roles(roles, platform_code)
    session = uow.session
    existing = (await session.execute(select(func.count()).select_from(Operator))).scalar_one()
    # Who may add one depends on whether any operator exists yet.
    if existing == 0:
        if Role.ADMIN not in wanted:
            raise RuleViolation("operator.first_must_be_admin")
    elif not signed_in:
        raise PermissionDenied("permission.login_required")
    else:
        uow.actor.require("operator.manage")
    platform_id = None
    if platform_code:
        platform_id = (
            await session.execute(select(col(Platform.id)).where(col(Platform.code) == platform_code.lower()))
        ).scalar_one_or_none()
        if platform_id is None:
            raise NotFound("platform.not_found", code=platform_code)
    taken = (await session.execute(select(col(Operator.id)).where(col(Operator.username) == username))).first()
    if taken:
        raise Conflict("operator.exists", username=username)
    operator = Operator(
        username=username, full_name=full_name.strip(), password_hash=hash_password(password),
        platform_id=platform_id,
    )
    session.add(operator)
    await session.flush()
    assert operator.id is not None  # flushed
    session.add_all(OperatorRole(operator_id=operator.id, role=role) for role in sorted(wanted))
    uow.audit(
        "operator.created", "operator", operator.id,
        after={"username": username, "roles": sorted(wanted), "platform": platform_code, "full_name": full_name},
    )
    return OperatorView(operator.id, username, operator.full_name, tuple(sorted(wanted)), platform_code, True)


def _check_roles(roles: Iterable[str], platform_code: str | None) -> set[str]:
    wanted: set[str] = set()
    for role in roles:
        try:
            wanted.add(Role(role.strip().lower()).value)
        except ValueError:
            raise InvalidInput("input.role", field="role", value=role) from None
    if not wanted:
        raise InvalidInput("input.required", field="role")
    # Platform staff are scoped to one platform and hold no office role.
    if Role.PLATFORM in wanted and (len(wanted) > 1 or not platform_code):
        raise RuleViolation("operator.platform_staff_scope")
    if platform_code and Role.PLATFORM not in wanted:
        raise RuleViolation("operator.platform_staff_scope")
    return wanted


@operation
async def set_active(uow: UnitOfWork, username: str, active: bool, reason: str = "") -> OperatorView:
    uow.actor.require("operator.manage")
    username = _normalise_username(username)
    operator = (
        await uow.session.execute(select(Operator).where(col(Operator.username) == username))
    ).scalar_one_or_none()
    if operator is None:
        raise NotFound("operator.not_found", username=username)
    if operator.id == uow.actor.operator_id and not active:
        raise RuleViolation("operator.cannot_deactivate_self")
    before = {"is_active": operator.is_active}
    operator.is_active = active
    uow.audit(
        "operator.activated" if active else "operator.deactivated", "operator", operator.id,
        before=before, after={"is_active": active}, reason=reason,
    )
    roles = await _roles_of(uow.session, operator)
    assert operator.id is not None  # read
    return OperatorView(
        operator.id, operator.username, operator.full_name, tuple(sorted(roles)),
        await _platform_code(uow.session, operator.platform_id), operator.is_active,
    )


async def list_operators(db: Database, actor: Actor) -> list[OperatorView]:
    actor.require("operator.read")
    async with read_session(db) as session:
        rows = (
            await session.execute(
                select(col(Operator.id), col(Operator.username), col(Operator.full_name), col(Operator.is_active),
                       col(Platform.code), col(Operator.locked_until))
                .outerjoin(Platform, col(Platform.id) == col(Operator.platform_id))
                .order_by(col(Operator.username))
            )
        ).all()
        roles: dict[int, list[str]] = {}
        for operator_id, role in await session.execute(select(col(OperatorRole.operator_id), col(OperatorRole.role))):
            roles.setdefault(operator_id, []).append(role)
    return [
        OperatorView(row.id, row.username, row.full_name, tuple(sorted(roles.get(row.id, []))), row.code, row.is_active,
                     row.locked_until)
        for row in rows
    ]


async def load_actor(db: Database, username: str) -> Actor:
    """The Actor of an existing operator, without a password: for trusted in-process jobs (the demo
    builder, tests). The command line and the console always go through `login`."""
    return (await load_actors(db, [username]))[username.lower()]


async def load_actors(db: Database, usernames: Iterable[str]) -> dict[str, Actor]:
    """`load_actor` for several operators in one read (three queries, whatever their number)."""
    names = {name.lower() for name in usernames}
    async with read_session(db) as session:
        found = (await session.execute(select(Operator).where(col(Operator.username).in_(names)))).scalars().all()
        missing = names - {operator.username for operator in found}
        if missing:
            raise NotFound("operator.not_found", username=min(missing))
        roles: dict[int | None, set[str]] = {operator.id: set() for operator in found}
        for operator_id, role in await session.execute(
            select(col(OperatorRole.operator_id), col(OperatorRole.role)).where(col(OperatorRole.operator_id).in_(roles))
        ):
            roles[operator_id].add(role)
        platform_ids = {operator.platform_id for operator in found} - {None}
        codes = {platform_id: code for platform_id, code in await session.execute(
            select(col(Platform.id), col(Platform.code)).where(col(Platform.id).in_(platform_ids))
        )}
    return {
        operator.username: Actor(operator.id, operator.username, frozenset(roles[operator.id]), operator.platform_id,
                                 codes.get(operator.platform_id), operator.full_name)
        for operator in found
    }
