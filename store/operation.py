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
from typing import Any, TypeVar

from store.actor import Actor
from store.engine import Database
from store.uow import UnitOfWork, unit_of_work

T = TypeVar("T")


def operation(func: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(func)
    async def service(db: Database, actor: Actor, *args: Any, **kwargs: Any) -> T:
        async with unit_of_work(db, actor) as uow:
            return await func(uow, *args, **kwargs)

    service.within = func  # type: ignore[attr-defined]
    return service

