"""Migrations from empty to head, the revision gate, and models matching the migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from store import migrate
from store.engine import create_database
from store.errors import SchemaMismatch
from store.models import metadata
from store.search import in_models


async def test_upgrade_from_nothing_to_head(db_url_factory, backend):
    # A blank database: for SQLite a new file, for PostgreSQL the empty template.
    url = await db_url_factory("empty")
    db = create_database(url)
    try:
        await migrate.downgrade(db)
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        before, after = await migrate.upgrade(db)
        assert before is None and after == migrate.head_revision()
        async with db.engine.connect() as connection:
            tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(metadata.tables) <= tables
    finally:
        await db.dispose()


async def test_models_match_migrations(empty_db):
    """A model change without its migration (or the reverse) fails here."""

    def differences(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": in_models})
        return compare_metadata(context, metadata)

    async with empty_db.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == []


async def test_new_sqlite_file_is_migrated_on_first_use(tmp_path):
    db = await migrate.open_database(str(tmp_path / "new.db"))
    try:
        assert await migrate.current_revision(db) == migrate.head_revision()
    finally:
        await db.dispose()


async def test_database_behind_is_refused_with_the_command_to_run(empty_db):
    async with empty_db.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    with pytest.raises(SchemaMismatch) as refused:
        await migrate.check_revision(empty_db)
    assert refused.value.key == "schema.behind"
    assert refused.value.params["current"] == "0001"


async def test_database_ahead_is_refused(empty_db):
    async with empty_db.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    with pytest.raises(SchemaMismatch) as refused:
        await migrate.check_revision(empty_db)
    assert refused.value.key == "schema.ahead"


async def test_uninitialised_postgres_database_is_not_migrated_silently(db_url_factory, backend):
    db = create_database(await db_url_factory("empty"))
    try:
        await migrate.downgrade(db)
        async with db.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE someone_elses (id integer)"))
        with pytest.raises(SchemaMismatch) as refused:
            await migrate.check_revision(db)
        assert refused.value.key == "schema.not_initialised"
    finally:
        await db.dispose()


async def test_the_search_apart_holds_everyone_registered_before_and_during_its_upgrade(db, actors, backend):
    """0613 copies the registry's names and NIKs into PostgreSQL's search table. A registration
    under way when the upgrade starts is waited for, so it is copied (or caught by the triggers),
    never lost between the two."""
    import asyncio

    from store.services import registry
    from store.services.registry import ParticipantFilter
    from tests.participants_support import add_participants, person, raw_registration

    if backend == "sqlite":
        pytest.skip("0613 changes nothing on SQLite: its search has been a table apart since 0609")
    await migrate.downgrade(db, "0612")
    [budi] = await add_participants(db, actors.coordinator, [person(name="Budi Widjaja")])
    async with db.engine.connect() as writer:
        await writer.execute(*raw_registration(person()["nik"], "Dewi Lestari", like=budi))
        upgrading = asyncio.create_task(migrate.upgrade(db))
        await asyncio.sleep(1)
        assert not upgrading.done(), "the upgrade did not wait for the registration under way"
        await writer.commit()
    await asyncio.wait_for(upgrading, 60)
    for typed, name in (("widjaja", "Budi Widjaja"), ("lestari", "Dewi Lestari")):
        page = await registry.list_participants(db, actors.reviewer, ParticipantFilter(search=typed))
        assert [row.full_name for row in page.rows] == [name]
