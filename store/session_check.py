"""Is the operator who logged in still allowed to act as they did then?

A console stays logged in for hours; an admin may deactivate an operator or take roles away
meanwhile. Every unit of work (and, through the console, every read) re-reads the operator's
status, roles and platform: one indexed read, inside the same transaction for writes. The check
fails as `SessionEnded`, which the console shows before returning to the login screen.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import false, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import SessionEnded
from store.models import Operator, OperatorRole, OperatorSession, utcnow

# How often a console that only reads records that it is still in use.
TOUCH_EVERY = dt.timedelta(minutes=1)


async def check_in(session: AsyncSession, actor: Actor, *, writing: bool = True) -> bool:
    """Refuse an actor whose operator is gone, deactivated, or no longer holds their roles, or
    whose console session an admin has ended. Inside a write, the session's last action is now;
    returns whether a reading console is due to record that it is still in use."""
    if actor.operator_id is None or not actor.roles:  # the system itself; a failed login's record
        return False
    # One round trip for all three facts (this runs before every read and write of a console):
    # a row per role the operator holds, each carrying the operator's and the session's columns.
    rows = (
        await session.execute(
            select(
                col(Operator.is_active), col(Operator.platform_id), col(OperatorRole.role),
                col(OperatorSession.token), col(OperatorSession.ended_at), col(OperatorSession.end_reason),
                col(OperatorSession.last_action_at),
            )
            .select_from(Operator)
            .outerjoin(OperatorRole, col(OperatorRole.operator_id) == col(Operator.id))
            .outerjoin(OperatorSession, col(OperatorSession.token) == actor.session_token
                       if actor.session_token is not None else false())
            .where(col(Operator.id) == actor.operator_id)
        )
    ).all()
    if not rows or not rows[0].is_active:
        raise SessionEnded("session.deactivated", operator=actor.username)
    roles = {row.role for row in rows if row.role is not None}
    if not actor.roles <= roles or rows[0].platform_id != actor.platform_id:
        raise SessionEnded("session.roles_changed", operator=actor.username)
    if actor.session_token is None:  # a command line: no session
        return False
    console = rows[0]
    if console.token is None:  # its row is still being written with the login's record
        return False
    if console.ended_at is not None:
        raise SessionEnded("session.ended", operator=actor.username, reason=console.end_reason)
    now = utcnow()
    if writing:
        await session.execute(
            update(OperatorSession).where(col(OperatorSession.token) == actor.session_token).values(last_action_at=now)
        )
        return False
    last = console.last_action_at
    return last is None or (last if last.tzinfo else last.replace(tzinfo=dt.UTC)) < now - TOUCH_EVERY


async def check(db: Database, actor: Actor | None) -> None:
    """The same check for a read, in its own short read transaction."""
    from store.uow import read_session  # the unit of work uses `check_in` itself

    if actor is None:
        return
    async with read_session(db) as session:
        due = await check_in(session, actor, writing=False)
    if due:
        from store.services.sessions import touch

        db.background(touch(db, actor))
