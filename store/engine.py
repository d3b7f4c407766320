"""One engine factory for SQLite and PostgreSQL, with the settings money needs.

SQLite: foreign keys on, WAL, synchronous=FULL, a busy timeout,
and every write unit of work opened with BEGIN IMMEDIATE. Python's default transaction handling
loses updates between processes; we take transactions over with `isolation_level = None` and emit
BEGIN ourselves. Each statement is one trip to the driver's thread (store/sqlite_driver.py).
PostgreSQL: pre-ping, a small pool, statement and lock timeouts, and the
application name, which carries the operator once one has logged in.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from store.config import describe, redact, resolve_url
from store.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A wave-wide write on SQLite (a selection's cards) touches index pages all over a million-row
# table: with the default 2 MB page cache they are written out and read back again and again.
# 128 MB for that transaction's connection cut the write of 300,000 cards from 10.4 s to 6.8 s
# (bench/write_locks.py); the connection gives the memory back when it is next taken from the pool.
SQLITE_ROOMY_CACHE_KIB = 128 * 1024
SQLITE_DEFAULT_CACHE_KIB = 2000
_ROOMY = "mitra_roomy_cache"
PG_STATEMENT_TIMEOUT_MS = 120_000
PG_LOCK_TIMEOUT_MS = 15_000
PG_CONNECT_TIMEOUT_S = 5

# Execution option that marks a connection as a write unit of work.
WRITE_OPTION = "mitra_write"


@dataclass
class Database:
    """The engines of one database: `engine` for reads, `write_engine` for units of work.

    Both share one pool; on SQLite the write engine opens transactions with BEGIN IMMEDIATE so
    that read-then-write units of work are serialised instead of losing updates.
    """

    url: URL
    engine: AsyncEngine
    # Behind PgBouncer in transaction pooling (`?pgbouncer=transaction` on the URL): every
    # transaction may run on another server connection, so nothing is kept per connection.
    transaction_pooling: bool = False
    # A read replica for the heavy read-only screens (lists, counts, exports): `read_session(db,
    # replica=True)`. None: they read the primary like everything else.
    replica: Database | None = None
    write_engine: AsyncEngine = field(init=False)

    def __post_init__(self) -> None:
        self.write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self._pending: list[Callable[[Database], Awaitable[Any]]] = []
        self._running: list[asyncio.Future[Any]] = []

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def label(self) -> str:
        """Host/db or file name, for the header: never a password."""
        return describe(self.url)

    @property
    def safe_url(self) -> str:
        return redact(self.url)

    def defer(self, work: Callable[[Database], Awaitable[Any]]) -> None:
        """Keep a write that may wait for SQLite's lock (a login's record) for later: the next
        unit of work, `settle` or `dispose` runs it first; a command line may take it to run
        after its output (`take_deferred`), the console starts it at once (`start_deferred`)."""
        self._pending.append(work)

    def take_deferred(self) -> list[Callable[[Database], Awaitable[Any]]]:
        taken, self._pending = self._pending, []
        return taken

    def start_deferred(self) -> None:
        self._running.extend(asyncio.ensure_future(work(self)) for work in self.take_deferred())

    def background(self, work: Awaitable[Any]) -> None:
        """Small bookkeeping that nobody waits for (a session's last action); `settle` and
        `dispose` still let it finish."""
        self._running.append(asyncio.ensure_future(work))

    async def settle(self) -> None:
        """Run and wait for deferred work (not the calling task itself); its errors raise here."""
        self.start_deferred()
        current = asyncio.current_task()
        waiting = [task for task in self._running if task is not current]
        self._running = [task for task in self._running if task is current]
        for task in waiting:
            await task

    async def dispose(self) -> None:
        try:
            await self.settle()
        finally:
            await self.engine.dispose()
            if self.replica is not None:
                await self.replica.dispose()


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        if record.info.pop(_ROOMY, False):
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_DEFAULT_CACHE_KIB}")
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def roomy_cache(connection: AsyncConnection) -> None:
    """A large page cache for this connection's current big write (SQLite; nothing elsewhere)."""
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_ROOMY_CACHE_KIB}")
        connection.info[_ROOMY] = True  # the pooled connection's own: read back at its next checkout


async def refresh_statistics(db: Database, table: str) -> None:
    """After a wave-wide write (a selection, a sweep): PostgreSQL's planner statistics of `table`
    refreshed at once, not whenever autovacuum comes to them, if it runs at all. A list filtered
    by a wave just selected was planned from statistics in which the wave was empty: 540-690 ms a
    page against 3.5 ms at a million (bench/search.py). ANALYZE reads a sample (0.45 s at a
    million) and blocks no reads or writes. SQLite keeps no statistics of a value's rows: its
    lists choose their index from the participant tally (store/services/registry.py).

    Best effort: the write has committed and its result must reach the operator. A role that
    does not own the table gets a warning from the server and nothing changes; whatever else goes
    wrong (a lost server, a pool with no connection free) is logged, and the next action reports
    it if it lasts."""
    if db.is_sqlite:
        return
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text(f"ANALYZE {table}"))
            await connection.commit()
    except Exception as error:  # noqa: BLE001 - see above: never fail a committed write
        logging.getLogger(__name__).warning("ANALYZE %s failed: %r", table, error)


PGBOUNCER_PARAM = "pgbouncer"


def _pgbouncer_mode(url: URL) -> tuple[URL, bool]:
    """The URL without Mitra's own `pgbouncer` parameter, and whether it asked for transaction
    pooling (asyncpg would refuse the unknown parameter)."""
    mode = url.query.get(PGBOUNCER_PARAM)
    if mode is None:
        return url, False
    if mode != "transaction":
        raise ConfigError("config.bad_pgbouncer_mode", mode=str(mode))
    return url.difference_update_query([PGBOUNCER_PARAM]), True


def _statement_name() -> str:
    return f"__mitra_{uuid.uuid4().hex}__"


def _install_pg_timeouts(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(
            f"SELECT set_config('statement_timeout', '{PG_STATEMENT_TIMEOUT_MS}', true),"
            f" set_config('lock_timeout', '{PG_LOCK_TIMEOUT_MS}', true)"
        )


def _check_sqlite_folder(url: URL) -> None:
    """A file in a folder that does not exist is refused here, in words, before a connection is
    tried (the driver's failure would race the closing event loop and print a traceback)."""
    from pathlib import Path

    from store.errors import DatabaseUnavailable

    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return
    folder = Path(url.database).expanduser().parent
    if not folder.is_dir():
        raise DatabaseUnavailable("db.folder_missing", target=Path(url.database).name, folder=str(folder))


def create_database(
    url: str | URL | None = None, *, application_name: str = "mitra", read_url: str | URL | None = None
) -> Database:
    """Build the engines for `url` (or the configured default), and for `read_url`, a read
    replica of it, when given (PostgreSQL only); connects lazily."""
    db = _engines(url, application_name)
    if read_url:
        if db.is_sqlite:
            raise ConfigError("config.replica_needs_postgres")
        db.replica = _engines(read_url if isinstance(read_url, URL) else resolve_url(read_url), application_name)
        if db.replica.is_sqlite:
            raise ConfigError("config.replica_needs_postgres")
    return db


def _engines(url: str | URL | None, application_name: str) -> Database:
    resolved = url if isinstance(url, URL) else resolve_url(url)
    if resolved.get_backend_name() == "sqlite":
        _check_sqlite_folder(resolved)
        from store.sqlite_driver import OneTripDBAPI  # loads aiosqlite, which PostgreSQL never needs

        engine = create_async_engine(
            resolved, module=OneTripDBAPI(), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        _install_sqlite_pragmas(engine)
    else:
        engine_url, pooled = _pgbouncer_mode(resolved)
        settings = {"application_name": application_name[:63]}
        connect_args: dict[str, Any] = {"timeout": PG_CONNECT_TIMEOUT_S, "server_settings": settings}
        if pooled:
            # PgBouncer passes on no other startup setting (the timeouts are set per transaction
            # instead, `_install_pg_timeouts`), and a statement prepared by name on one server
            # connection is unknown on the next: no statement caches, and unique names.
            engine_url = engine_url.update_query_dict({"prepared_statement_cache_size": "0"})
            connect_args.update(statement_cache_size=0, prepared_statement_name_func=_statement_name)
        else:
            settings.update(statement_timeout=str(PG_STATEMENT_TIMEOUT_MS), lock_timeout=str(PG_LOCK_TIMEOUT_MS))
        engine = create_async_engine(
            engine_url, pool_pre_ping=True, pool_size=3, max_overflow=4, pool_recycle=1800, connect_args=connect_args,
        )
        if pooled:
            _install_pg_timeouts(engine)
        return Database(url=resolved, engine=engine, transaction_pooling=pooled)
    return Database(url=resolved, engine=engine)
