"""The console's service calls (tui/workers.py): a newer call of the same group cancels an older
read (its result would be stale) but never an older write, which finishes and reports: a write
cancelled around its commit may or may not have happened, and nobody would be told."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from textual.app import App

from store.models import AuditEvent
from store.uow import read_session, unit_of_work
from tests.tui_support import settle, wait_until
from tui.workers import ServiceCaller


async def until(pilot, condition, timeout: float = 10) -> None:
    """Pause until `condition()` (tui_support's wait_until waits for every worker, and these are
    held on purpose)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await pilot.pause(0.01)


class Caller(ServiceCaller, App):
    """The smallest console: an open database, nobody logged in (the services bring their actor)."""

    def __init__(self, db) -> None:
        super().__init__()
        self.db, self.actor = db, None
        self.results: list[str] = []
        self.writes = 0

    async def database(self):
        return self.db

    def written(self) -> None:  # what MitraApp does with it: the tour looks at the log at once
        self.writes += 1

    def show(self, result: str) -> None:
        self.results.append(result)


@pytest.mark.both_backends
async def test_a_newer_call_never_cancels_a_write_in_flight(db, actors):
    inside, release = asyncio.Event(), asyncio.Event()

    async def record(_db, _actor, name: str) -> str:
        async with unit_of_work(db, actors.admin) as uow:
            uow.audit("test.recorded", "test", name)
            inside.set()
            await release.wait()  # still in the transaction when the next call comes
        return name

    app = Caller(db)
    async with app.run_test() as pilot:
        app.call(record, "first", then=app.show)
        await until(pilot, inside.is_set)
        app.call(record, "second", then=app.show)  # the same group: the same callback
        await pilot.pause()
        release.set()
        await wait_until(pilot, lambda: len(app.results) == 2)
        await settle(pilot)
    # Both reported and both recorded (on PostgreSQL the second may well commit first: the first
    # appends its audit event only when its block ends).
    assert sorted(app.results) == ["first", "second"]
    assert app.writes == 2, "each committed write is reported to the console"
    async with read_session(db) as session:
        recorded = (await session.execute(
            select(AuditEvent.entity_id).where(AuditEvent.action == "test.recorded"))).scalars()
        assert sorted(recorded) == ["first", "second"]


async def test_a_newer_call_cancels_an_older_read(db):
    release = asyncio.Event()
    started: list[str] = []

    async def look(_db, _actor, name: str) -> str:
        started.append(name)
        await release.wait()
        async with read_session(db) as session:
            await session.execute(select(AuditEvent.id).limit(1))
        return name

    app = Caller(db)
    async with app.run_test() as pilot:
        app.call(look, "stale", then=app.show)
        await until(pilot, lambda: started == ["stale"])
        app.call(look, "fresh", then=app.show)
        await until(pilot, lambda: started == ["stale", "fresh"])
        release.set()
        await wait_until(pilot, lambda: app.results)
        await settle(pilot)
    assert app.results == ["fresh"]
    assert app.writes == 0, "a read is no write"
