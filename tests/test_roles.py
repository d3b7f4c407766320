"""PostgreSQL: the console runs as a role that cannot switch off or drop the guards.

`mitra db upgrade` (as the schema owner) grants the runtime role; a login that is a member of it
works normally but is refused DDL, trigger control and any change to the audit log."""

from __future__ import annotations

import itertools
import os

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from store.engine import create_database
from store.services import operators, settings
from tests.cli_support import mitra

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
