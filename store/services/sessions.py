"""Who is logged in where: console sessions, their last action, and ending one.

A console opens a session when its operator logs in (from a local terminal, over SSH, or in a
browser); the row is written in the background with the login's own record, so a login still
only reads. The Actor carries the session's token: every unit of work refuses a session an admin
has ended (store/session_check.py), and records the session's last action.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import case, label, select, update
from sqlalchemy.orm import aliased
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import InvalidInput, NotFound, RuleViolation
from store.models import Operator, OperatorSession, utcnow
from store.origin import ORIGINS, where_from  # noqa: F401 - where_from: the sessions' own word for it
from store.operation import operation
from store.uow import UnitOfWork, read_session

def new_token() -> str:
    return secrets.token_hex(16)


def session_row(actor: Actor, origin: str, peer: str) -> OperatorSession:
    """The session's row, written with the login's record (operators._record_login)."""
    if origin not in ORIGINS:
        raise InvalidInput("session.origin", field="origin", value=origin)
    if actor.operator_id is None or actor.session_token is None:
        raise ValueError("a session is an operator's, logged in with a session token")
    now = utcnow()
    return OperatorSession(token=actor.session_token, operator_id=actor.operator_id, origin=origin,
                           peer=(peer or "")[:200], key_fingerprint=dict(actor.via).get("ssh_key", ""),
                           started_at=now, last_action_at=now)


async def touch(db: Database, actor: Actor) -> None:
    """Record that a console that only reads is still in use. Bookkeeping in its own short write
    (not a unit of work: it neither waits for deferred work nor audits); a busy database or a lost
    connection only postpones it to the next read."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import AsyncSession

    from store.session_check import TOUCH_EVERY

    now = utcnow()
    try:
        async with AsyncSession(db.write_engine) as session, session.begin():
            await session.execute(
                update(OperatorSession)
                .where(col(OperatorSession.token) == actor.session_token, col(OperatorSession.ended_at).is_(None),
                       col(OperatorSession.last_action_at) < now - TOUCH_EVERY)
                .values(last_action_at=now)
            )
    except DBAPIError:
        pass


@dataclass(frozen=True)
class SessionView:
    id: int
    operator: str
    origin: str
    peer: str
    started_at: dt.datetime
    last_action_at: dt.datetime
    ended_at: dt.datetime | None
    ended_by: str | None
    end_reason: str

    @property
    def open(self) -> bool:
        return self.ended_at is None


async def list_sessions(db: Database, actor: Actor, *, limit: int = 200) -> list[SessionView]:
    """Open sessions first (most recently active first), then the latest ended ones."""
    actor.require("operator.read")
    ender = aliased(Operator)
    async with read_session(db) as session:
        rows = await session.execute(
            select(
                col(OperatorSession.id), col(Operator.username), col(OperatorSession.origin), col(OperatorSession.peer),
                col(OperatorSession.started_at), col(OperatorSession.last_action_at), col(OperatorSession.ended_at),
                label("ended_by", col(ender.username)), col(OperatorSession.end_reason),
            )
            .join(Operator, col(Operator.id) == col(OperatorSession.operator_id))
            .outerjoin(ender, col(ender.id) == col(OperatorSession.ended_by))
            .order_by(case((col(OperatorSession.ended_at).is_(None), 0), else_=1),
                      col(OperatorSession.last_action_at).desc(), col(OperatorSession.id).desc())
            .limit(limit)
        )
        return [
            SessionView(row.id, row.username, row.origin, row.peer, row.started_at, row.last_action_at, row.ended_at,
                        row.ended_by, row.end_reason)
            for row in rows
        ]


async def end_session(db: Database, actor: Actor, session_id: int, reason: str) -> SessionView:
    """An admin ends a session: its console is refused at its next action and returns to login."""
    await _end_session(db, actor, session_id, reason)
    # Read once committed: the view is the sessions list's own row.
    return next(view for view in await list_sessions(db, actor) if view.id == session_id)


@operation
async def _end_session(uow: UnitOfWork, session_id: int, reason: str) -> None:
    uow.actor.require("operator.manage")
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("input.required", field="reason")
    row = await uow.session.get(OperatorSession, session_id, with_for_update=True)
    if row is None:
        raise NotFound("session.not_found", id=session_id)
    if row.ended_at is not None:
        raise RuleViolation("session.already_ended", id=session_id)
    row.ended_at, row.ended_by, row.end_reason = utcnow(), uow.actor.operator_id, reason[:300]
    uow.audit("operator_session.ended", "operator", row.operator_id, reason=reason,
              details={"session": session_id, "origin": row.origin, "peer": row.peer,
                       "ssh_key": row.key_fingerprint})
    await uow.session.flush()


async def log_out(db: Database, actor: Actor) -> None:
    """The operator's own session ends (logging out or quitting the console). Not a unit of work:
    it closes the row even when the operator was deactivated meanwhile (the check would refuse)."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from store.failures import typed_errors

    if actor.session_token is None:
        return
    with typed_errors(db.label):  # a lost database is a DatabaseUnavailable, as everywhere
        async with AsyncSession(db.write_engine) as session, session.begin():
            await session.execute(
                update(OperatorSession)
                .where(col(OperatorSession.token) == actor.session_token, col(OperatorSession.ended_at).is_(None))
                .values(ended_at=utcnow(), ended_by=actor.operator_id, end_reason="logged out")
            )
