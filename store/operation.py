"""Services that compose: each runs in its own unit of work, or inside a caller's.

    @operation
    async def submit_provider(uow: UnitOfWork, provider_id: int, *, expected_version: int) -> ...:
        uow.actor.require("provider.submit")
        ...

    await submit_provider(db, actor, 7, expected_version=3)        # one transaction, as the console does
    await submit_provider.within(uow, 7, expected_version=3)       # inside a larger unit of work

The second form lets the demo builder run a provider's whole inventory (record, documents,
submission) as one transaction with the same rules and audit events, instead of dozens.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from store.actor import Actor
from store.engine import Database
from store.uow import UnitOfWork, unit_of_work

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M")


class Operation(Generic[P, T]):
    """A service: called with `(db, actor, ...)` it opens its own unit of work, so that the
    permission check, the change and the audit event share one transaction; `.within(uow, ...)`
    runs it inside a caller's. Typed, so that a call with the wrong arguments fails the type check."""

    def __init__(self, func: Callable[Concatenate[UnitOfWork, P], Awaitable[T]]) -> None:
        functools.update_wrapper(self, func)
        self.within = func

    async def __call__(self, db: Database, actor: Actor, *args: P.args, **kwargs: P.kwargs) -> T:
        async with unit_of_work(db, actor) as uow:
            return await self.within(uow, *args, **kwargs)


def operation(func: Callable[Concatenate[UnitOfWork, P], Awaitable[T]]) -> Operation[P, T]:
    return Operation(func)


async def get_held(session: AsyncSession, model: type[M], key: Any) -> M | None:
    """`session.get`, keeping the record for the rest of the session. The identity map holds
    unchanged records only weakly, so a unit of work that touches one record many times (the
    demo builder's) would otherwise load it again each time."""
    record: M | None = _held(session).get((model, key))
    if record is None:
        record = await session.get(model, key)
        if record is not None:
            hold(session, record, key)
    return record


def hold(session: AsyncSession, record: Any, key: Any) -> None:
    """Keep a record just added (and flushed) for `get_held`."""
    _held(session)[(type(record), key)] = record


def _held(session: AsyncSession) -> dict[tuple[type[Any], Any], Any]:
    """The session's held records by (model, key)."""
    held: dict[tuple[type[Any], Any], Any] = session.info.setdefault("held", {})
    return held
