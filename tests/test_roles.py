"""PostgreSQL: the console runs as a role that cannot switch off or drop the guards.

`mitra db upgrade` (as the schema owner) grants the runtime role; a login that is a member of it
works normally but is refused DDL, trigger control and any change to the audit log."""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from store.engine import create_database
from store.services import operators, selection, settings, waves
from store.services.registry import ParticipantFilter
from tests.cli_support import mitra
from tests.participants_support import add_participants, all_pages, person, wave_input

_logins = itertools.count()


@pytest.fixture
async def runtime_db(db, db_url, backend):
    if backend != "postgresql":
        pytest.skip("role separation is PostgreSQL's; SQLite is covered by the guard check (test_audit)")
    result = mitra("db", "upgrade", "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert "Runtime role mitra_app granted" in result.stdout
    login = f"mitra_test_login_{os.getpid()}_{next(_logins)}"
    async with db.engine.connect() as connection:
        await connection.execute(text(f"DROP ROLE IF EXISTS {login}"))
        await connection.execute(text(f"CREATE ROLE {login} LOGIN PASSWORD 'x' IN ROLE mitra_app"))
        await connection.commit()
    runtime = create_database(make_url(db_url).set(username=login, password="x").render_as_string(hide_password=False))
    yield runtime
    await runtime.dispose()
    async with db.engine.connect() as connection:
        await connection.execute(text(f"DROP OWNED BY {login}"))
        await connection.execute(text(f"DROP ROLE {login}"))
        await connection.commit()


@pytest.mark.parametrize("statement", [
    "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change",
    "ALTER TABLE payment_batch DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_head_forward_only ON audit_head",
    "DROP TABLE payment_line",
    "UPDATE audit_event SET reason = 'covered up'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "INSERT INTO audit_head (id, last_id, last_hash) VALUES (2, 0, '')",
    "UPDATE alembic_version SET version_num = '0001'",
    "CREATE TABLE shadow (id int)",
    # The tables the participants' triggers keep (0615): a funnel's count or a person's search row.
    "UPDATE participant_tally SET n = n + 1000",
    "INSERT INTO participant_tally (wave_key, status, n) VALUES (0, 'selected', 5)",
    "DELETE FROM participant_search",
    "UPDATE participant_search SET name_key = 'someone else'",
])
async def test_the_runtime_role_cannot_touch_the_guards_or_the_log(runtime_db, statement):
    with pytest.raises(DBAPIError) as refused:
        async with runtime_db.write_engine.begin() as connection:
            await connection.execute(text(statement))
    assert "must be owner" in str(refused.value) or "permission denied" in str(refused.value)


async def test_the_runtime_role_runs_mitra(runtime_db, actors):
    await operators.login(runtime_db, "admin", "demo")
    await settings.change(runtime_db, actors.admin, "obligations.due_days", 14)
    assert await settings.get(runtime_db, "obligations.due_days") == 14


async def test_the_runtime_roles_writes_keep_the_tally_and_the_search_it_cannot_write(runtime_db, actors):
    """Its triggers write the derived tables as their owner: whatever the runtime role does to a
    participant, even in plain SQL, the counts and the search follow."""

    async def tally() -> dict[str, int]:
        async with runtime_db.engine.connect() as connection:
            rows = await connection.execute(text("SELECT status, n FROM participant_tally WHERE n <> 0"))
            return {status: n for status, n in rows}

    async def found(typed: str) -> list[int]:
        return [row.id for row in await all_pages(runtime_db, actors.reviewer, ParticipantFilter(search=typed))]

    budi, agus = await add_participants(runtime_db, actors.coordinator,
                                        [person(name="Budi Widjaja"), person(name="Agus Salim")])
    assert await tally() == {"registered": 2}
    assert await found("widjaja") == [budi]
    starts = dt.date(2024, 3, 1)
    await waves.create_wave(runtime_db, actors.admin, wave_input(21, quota=1, starts_on=starts))
    await selection.select_participants(runtime_db, actors.coordinator, 21, seed=1,
                                        at=dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC))
    assert await tally() == {"registered": 1, "selected": 1}
    async with runtime_db.write_engine.begin() as connection:
        await connection.execute(text("UPDATE participant SET full_name = 'Agus Lestari', name_key = 'agus lestari'"
                                      " WHERE id = :id"), {"id": agus})
        left = (await connection.execute(text("DELETE FROM participant WHERE status = 'registered' RETURNING id"))).scalar_one()
    assert await tally() == {"selected": 1}
    assert await found("salim") == []
    assert await found("lestari") == ([] if left == agus else [agus])
    assert await found("widjaja") == ([] if left == budi else [budi])
