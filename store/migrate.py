"""Schema migrations and the revision gate.

- `upgrade(db)` migrates to the newest revision (under an advisory lock on PostgreSQL, so two
  admins cannot migrate at once; on SQLite with foreign keys off, then checked).
- `open_database(...)` refuses a database at another revision than this code expects, with a
  message saying what to run; a brand-new SQLite file is migrated automatically.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, URL

from store.engine import Database, create_database
from store.errors import ConfigError, SchemaMismatch
from store.failures import typed_errors

MIGRATIONS = Path(__file__).with_name("migrations")
PG_MIGRATION_LOCK_KEY = 0x6D696772  # "migr"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the migrations ship with the code
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _current(sync_connection: Connection) -> str | None:
    return MigrationContext.configure(sync_connection).get_current_revision()


def _has_tables(sync_connection: Connection) -> bool:
    return bool(inspect(sync_connection).get_table_names())


def _migrate_sync(sync_connection: Connection, target: str, downgrade: bool = False) -> None:
    config = alembic_config()
    step = command.downgrade if downgrade else command.upgrade
    config.attributes["connection"] = sync_connection
    if sync_connection.dialect.name == "sqlite":
        # Batch migrations recreate tables: with foreign keys on, that would cascade deletes.
        # The pragma only works outside a transaction, hence the raw DBAPI cursor.
        if sync_connection.in_transaction():
            sync_connection.commit()  # reading the revision opened one; the pragma needs none
        raw = sync_connection.connection.dbapi_connection
        assert raw is not None  # None only once the connection is closed, and it is in use
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("PRAGMA foreign_keys")
        row = cursor.fetchone()
        if row is None or row[0] != 0:
            raise RuntimeError("could not turn SQLite foreign keys off for the migration")
        try:
            step(config, target)
            problems = sync_connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            sync_connection.commit()
            if problems:
                raise RuntimeError(f"foreign key check failed after migration: {problems[:5]}")
        finally:
            raw.cursor().execute("PRAGMA foreign_keys=ON")
    else:
        sync_connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
        sync_connection.commit()
        try:
            step(config, target)
            sync_connection.commit()
        finally:
            sync_connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
            sync_connection.commit()


def _direct(db: Database) -> None:
    """Migrations hold a session lock and change the schema: through PgBouncer's transaction
    pooling the lock could be taken on one server connection and released on another."""
    if db.transaction_pooling:
        raise ConfigError("db.migrate_through_pgbouncer")


async def upgrade(db: Database, target: str = "head") -> tuple[str | None, str]:
    """Migrate; returns (revision before, revision after)."""
    _direct(db)
    with typed_errors(db.label):
        async with db.engine.connect() as connection:
            before = await connection.run_sync(_current)
            await connection.run_sync(_migrate_sync, target)
            after = await connection.run_sync(_current)
    assert after is not None  # migrated to a revision: the database records it
    return before, after


async def downgrade(db: Database, target: str = "base") -> None:
    """Migrate down to `target`; "base" drops every Mitra table (the demo builder's --replace).
    Never run on a live office database."""
    _direct(db)
    with typed_errors(db.label):
        async with db.engine.connect() as connection:
            await connection.run_sync(_migrate_sync, target, True)


async def current_revision(db: Database) -> str | None:
    with typed_errors(db.label):
        async with db.engine.connect() as connection:
            return await connection.run_sync(_current)


async def check_revision(db: Database, *, auto_migrate_new_sqlite: bool = True) -> str:
    """Refuse a database whose schema revision is not the one this code expects."""
    head = head_revision()
    with typed_errors(db.label):
        async with db.engine.connect() as connection:
            current = await connection.run_sync(_current)
            empty = current is None and not await connection.run_sync(_has_tables)
    if current == head:
        return head
    if empty and db.is_sqlite and auto_migrate_new_sqlite:
        await upgrade(db)
        return head
    if current is None:
        raise SchemaMismatch("schema.not_initialised", target=db.label)
    if current in _known_revisions():
        raise SchemaMismatch("schema.behind", target=db.label, current=current, expected=head)
    raise SchemaMismatch("schema.ahead", target=db.label, current=current, expected=head)


READ_DATABASE_URL_ENV = "MITRA_READ_DATABASE_URL"


async def open_database(url: str | URL | None = None, *, application_name: str = "mitra") -> Database:
    """Engines for `url`, after checking the schema revision (migrating a new SQLite file); with
    a read replica from $MITRA_READ_DATABASE_URL (`mitra --read-db`), at the same revision."""
    db = create_database(url, application_name=application_name, read_url=os.environ.get(READ_DATABASE_URL_ENV))
    try:
        await check_revision(db)
        if db.replica is not None:
            await check_revision(db.replica)
    except BaseException:
        await db.dispose()
        raise
    return db
