"""Optimistic locking and concurrent operators: no update is ever lost."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from store import audit
from store.errors import Conflict
from store.models import Operator, Setting
from store.services import settings
from store.uow import read_session, unit_of_work

ROOT = Path(__file__).resolve().parents[1]


async def test_a_record_held_while_someone_else_saved_it_is_a_conflict(db, actors):
    # Operator A reads the record; operator B changes and saves it; A's save must not win.
    async with read_session(db) as session:
        held = (await session.execute(select(Operator).where(Operator.username == "curator"))).scalar_one()
    async with unit_of_work(db, actors.admin) as uow:
        fresh = (await uow.session.execute(select(Operator).where(Operator.username == "curator"))).scalar_one()
        fresh.full_name = "Dewi Lestari, M.Sc."
    with pytest.raises(Conflict) as stale:
        async with unit_of_work(db, actors.admin) as uow:
            uow.session.add(held)
            held.full_name = "Dewi L."
    assert stale.value.key == "record.changed"
    async with read_session(db) as session:
        name = (await session.execute(select(Operator.full_name).where(Operator.username == "curator"))).scalar_one()
    assert name == "Dewi Lestari, M.Sc."


async def test_a_setting_saved_from_an_old_version_is_a_conflict(db, actors):
    await settings.change(db, actors.admin, "obligations.due_days", 12)
    async with read_session(db) as session:
        version = (await session.get(Setting, "obligations.due_days")).version
    await settings.change(db, actors.admin, "obligations.due_days", 14, expected_version=version)
    with pytest.raises(Conflict):
        await settings.change(db, actors.admin, "obligations.due_days", 20, expected_version=version)
    assert await settings.get(db, "obligations.due_days") == 14


async def test_interleaved_transactions_on_postgres_detect_the_stale_write(db, actors, backend):
    if backend == "sqlite":
        pytest.skip("SQLite serialises write transactions (BEGIN IMMEDIATE): they cannot interleave")
    await settings.change(db, actors.admin, "obligations.due_days", 1)
    loaded = asyncio.Event()
    saved = asyncio.Event()

    async def slow_writer():
        async with unit_of_work(db, actors.admin) as uow:
            row = await uow.session.get(Setting, "obligations.due_days")
            loaded.set()
            await saved.wait()
            row.value = json.dumps(json.loads(row.value) + 100)

    async def fast_writer():
        await loaded.wait()
        async with unit_of_work(db, actors.admin) as uow:
            row = await uow.session.get(Setting, "obligations.due_days")
            row.value = json.dumps(json.loads(row.value) + 1)
        saved.set()

    results = await asyncio.gather(slow_writer(), fast_writer(), return_exceptions=True)
    assert isinstance(results[0], Conflict)
    assert await settings.get(db, "obligations.due_days") == 2


@pytest.mark.slow
async def test_processes_doing_read_modify_write_lose_no_update(db, db_url, actors):
    await settings.change(db, actors.admin, "obligations.due_days", 0)
    async with db.engine.connect() as connection:
        events_before = await audit.count(connection)
    workers, per_worker = 4, 40
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.rmw_worker", db_url, str(per_worker),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    outputs = [await process.communicate() for process in processes]
    for process, (_out, err) in zip(processes, outputs):
        assert process.returncode == 0, err.decode()
    assert await settings.get(db, "obligations.due_days") == workers * per_worker
    async with db.engine.connect() as connection:
        result = await audit.verify(connection)
        assert result.intact
        assert result.checked == events_before + workers * per_worker


async def test_postgres_sees_the_operator_of_each_transaction(db, actors, backend):
    if backend == "sqlite":
        pytest.skip("SQLite has no server-side session settings")
    async with unit_of_work(db, actors.curator) as uow:
        actor, application = (
            await uow.session.execute(text("SELECT current_setting('app.actor'), current_setting('application_name')"))
        ).one()
    assert (actor, application) == ("curator", "mitra:curator")
