"""Is the operator who logged in still allowed to act as they did then?

A console stays logged in for hours; an admin may deactivate an operator or take roles away
meanwhile. Every unit of work (and, through the console, every read) re-reads the operator's
status, roles and platform: one indexed read, inside the same transaction for writes. The check
fails as `SessionEnded`, which the console shows before returning to the login screen.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.actor import Actor
from store.engine import Database
from store.errors import SessionEnded
from store.models import Operator, OperatorRole


async def check_in(session: AsyncSession, actor: Actor) -> None:
    """Refuse an actor whose operator is gone, deactivated, or no longer holds their roles."""
    if actor.operator_id is None or not actor.roles:  # the system itself; a failed login's record
        return
    row = (
        await session.execute(select(Operator.is_active, Operator.platform_id).where(Operator.id == actor.operator_id))
    ).first()
    if row is None or not row.is_active:
        raise SessionEnded("session.deactivated", operator=actor.username)
    roles = set((await session.execute(select(OperatorRole.role).where(OperatorRole.operator_id == actor.operator_id))).scalars())
    if not actor.roles <= roles or row.platform_id != actor.platform_id:
        raise SessionEnded("session.roles_changed", operator=actor.username)


async def check(db: Database, actor: Actor | None) -> None:
    """The same check for a read, in its own short read transaction."""
    from store.uow import read_session  # the unit of work uses `check_in` itself

    if actor is None:
        return
    async with read_session(db) as session:
        await check_in(session, actor)
