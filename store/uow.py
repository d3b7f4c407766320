"""Units of work: one transaction per operation, with its audit events appended at the end.

    async with unit_of_work(db, actor) as uow:
        record = await uow.session.get(...)
        ...
        uow.audit("thing.changed", "thing", record, before=..., after=...)

On leaving the block the session is flushed, the audit events are appended to the chain in the
same transaction, and everything commits together, or nothing does. Driver failures come out as
the store's typed errors (a stale version as "changed by someone else").
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit, column_guard  # noqa: F401 - column_guard checks every row written
from store.actor import Actor
from store.engine import Database
from store.failures import typed_errors
from store.session_check import check_in


class UnitOfWork:
    def __init__(self, db: Database, session: AsyncSession, actor: Actor) -> None:
        self.db = db
        self.session = session
        self.actor = actor
        self._events: list[audit.PendingEvent] = []

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: Any,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        reason: str = "",
    ) -> None:
        """Record an event; `before`/`after` are reduced to the fields that changed."""
        if before is not None or after is not None:
            changes: dict[str, Any] = audit.diff(before or {}, after or {})
        else:
            changes = {}
        if details:
            changes["details"] = details
        if self.actor.via:
            changes["via"] = dict(self.actor.via)
        self._events.append(audit.PendingEvent(action, entity, entity_id, changes, reason))

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A part of the unit of work that fails alone: its changes and its audit events are
        dropped, its error (typed) goes to the caller, and the rest of the work goes on."""
        recorded = len(self._events)
        try:
            with typed_errors(self.db.label):
                async with self.session.begin_nested():
                    yield
                    await self.session.flush()
        except BaseException:
            del self._events[recorded:]
            raise

    async def finish(self) -> None:
        await self.session.flush()
        await audit.append(
            self.session,
            self._events,
            operator_id=self.actor.operator_id,
            operator_name=self.actor.username,
            is_postgres=not self.db.is_sqlite,
        )


# The tasks that began a unit of work. Whoever runs operations must not cancel these to make way
# for a newer call (the console's workers, tui/workers.py): cancelled around its commit, a write
# may or may not have happened, and nobody would be told which.
_WRITERS: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def has_begun_writing(task: asyncio.Task[Any] | None) -> bool:
    return task is not None and task in _WRITERS


@asynccontextmanager
async def unit_of_work(db: Database, actor: Actor) -> AsyncIterator[UnitOfWork]:
    """A write transaction (BEGIN IMMEDIATE on SQLite) that appends its audit events."""
    task = asyncio.current_task()
    if task is not None:
        _WRITERS.add(task)
    await db.settle()  # a deferred login record goes first, so the log keeps its order
    session = AsyncSession(db.write_engine, expire_on_commit=False, autoflush=False)
    try:
        with typed_errors(db.label):
            async with session.begin():
                if not db.is_sqlite:
                    # The operator, for this transaction (app.actor, readable by triggers) and for
                    # the server's activity view (application_name "mitra:<operator>").
                    await session.execute(
                        text(
                            "SELECT set_config('app.actor', :actor, true),"
                            " set_config('application_name', :application, :pooled)"
                        ),
                        {"actor": actor.username, "application": f"mitra:{actor.username}"[:63],
                         # behind PgBouncer, the name must not stay on a connection others reuse
                         "pooled": db.transaction_pooling},
                    )
                # The operator may have been deactivated (or lost roles) since logging in.
                await check_in(session, actor)
                uow = UnitOfWork(db, session, actor)
                yield uow
                await uow.finish()
    finally:
        await session.close()


@asynccontextmanager
async def read_session(db: Database, *, snapshot: bool = False, replica: bool = False) -> AsyncIterator[AsyncSession]:
    """A read-only session for queries (a plain BEGIN on SQLite: readers never block).

    With `replica`, on the read replica when one is configured: for the heavy screens (lists,
    counts, exports), which may then lag the primary by the replica's delay.

    With `snapshot`, all its queries see one state of the database: SQLite's read transaction
    always does (WAL); PostgreSQL's default shows each statement its own, so it gets REPEATABLE
    READ, read only."""
    engine = db.replica.engine if replica and db.replica is not None else db.engine
    if snapshot and not db.is_sqlite:
        engine = engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    session = AsyncSession(engine, expire_on_commit=False, autoflush=False)
    try:
        with typed_errors(db.label):
            async with session.begin():
                yield session
    finally:
        await session.close()
