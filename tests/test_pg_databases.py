"""The suite's PostgreSQL databases (tests/pg_databases.py): a database a test finished with comes
back to the next test exactly as a new copy of its template, or not at all."""

from __future__ import annotations

import itertools

import asyncpg
import pytest

from tests.conftest import _pg_admin_url, _pg_name, needs_postgres
from tests.pg_databases import PgDatabases

_numbers = itertools.count()


@pytest.fixture
async def databases(templates):
    needs_postgres()
    own = PgDatabases(_pg_admin_url(), dict(templates.postgresql), prefix=_pg_name(f"reuse{next(_numbers)}_"))
    yield own
    own.close()


async def _everything(dsn: str) -> dict:
    """Every row of every table, the sequences, the planner's statistics and the row counters."""
    connection = await asyncpg.connect(dsn)
    try:
        tables = [row[0] for row in await connection.fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")]
        return {
            "rows": {table: sorted(map(repr, await connection.fetch(f'SELECT * FROM "{table}"'))) for table in tables},
            "sequences": sorted(map(tuple, await connection.fetch(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"))),
            "statistics": await connection.fetchval(
                "SELECT count(*) FROM pg_statistic WHERE starelid IN"
                " (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)"),
            "analysed or written": await connection.fetchval(
                "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL OR n_tup_ins > 0"),
        }
    finally:
        await connection.close()


async def _as_a_test_leaves_it(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("""
            INSERT INTO ownership_group (version, code, name) VALUES (1, 'left-behind', 'Left behind');
            UPDATE platform SET name = name || ' (renamed)';
            DELETE FROM operator_role WHERE role = 'auditor';
            ANALYZE platform;
            -- as a selection or a payment run does: PostgreSQL keeps the schemas it makes for
            -- temporary tables (pg_temp_N, pg_toast_temp_N) after the session, and that is no
            -- change of the test's to the database's schema
            CREATE TEMPORARY TABLE picks (id integer, note text);
            INSERT INTO picks VALUES (1, 'taken');
        """)
    finally:
        await connection.close()


async def test_a_database_comes_back_as_a_new_copy(databases):
    first = await databases.take("seeded")
    new = await _everything(databases.dsn(first))
    await _as_a_test_leaves_it(databases.dsn(first))
    assert await _everything(databases.dsn(first)) != new  # what the test left is there ...
    databases.give_back("seeded", first)

    again = await databases.take("seeded")
    assert again == first  # ... and the same database comes back, reset
    assert await _everything(databases.dsn(again)) == new
    assert new["statistics"] == 0 and new["analysed or written"] == 0


async def test_a_database_whose_schema_a_test_changed_is_dropped_not_reused(databases):
    first = await databases.take("seeded")
    connection = await asyncpg.connect(databases.dsn(first))
    try:
        await connection.execute("DROP TRIGGER audit_event_no_change ON audit_event")
    finally:
        await connection.close()
    databases.give_back("seeded", first)

    second = await databases.take("seeded")
    assert second != first
    admin = await asyncpg.connect(databases.dsn("postgres"))
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", first) == 0
        triggers = await asyncpg.connect(databases.dsn(second))
        try:
            assert await triggers.fetchval(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_event_no_change'") == 1
        finally:
            await triggers.close()
    finally:
        await admin.close()
