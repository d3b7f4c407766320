"""A test's PostgreSQL database: copied from a template once, then reset and reused.

Each test gets a database of its own holding exactly its template's schema and rows. Copying one
from the template and dropping it afterwards cost 0.13-0.26 CPU-seconds a pair on this kind of
machine (most of it the system catalogs written to WAL), about 370 pairs a run. A database a test
has finished with is reset instead, in 0.03 s, by a thread of the worker's own while the next test
runs:

- its schema is compared with the template's (a fingerprint of tables, columns, constraints,
  indexes, triggers, functions, privileges and settings): a test that changed any of it (a dropped
  trigger, a migration, a grant) leaves a database that is dropped, never reused. The schemas
  PostgreSQL makes for temporary tables (`pg_temp_N`) are not the test's doing and are left out:
  they outlive the session that used them, and counting them dropped every database a
  selection or a payment run had used (82 of the suite's databases, 37 CPU-seconds a run);
- every table is emptied and the template's rows are put back, with triggers off (the audit log
  is append-only; the tally is copied as it was); a table that grew is truncated, so that none
  keeps a test's bulk as dead rows; the sequences are set back;
- the planner's statistics and the server's counters are cleared, as in a new copy.

Anything that goes wrong in a reset drops the database: a test never gets one that is not as new.
A test marked `fresh_database` gets a new copy all the same.

The copies use CREATE DATABASE's default strategy (WAL_LOG, PostgreSQL 15+): FILE_COPY forces
two checkpoints per copy, measured slower while the suite's other worker writes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from concurrent.futures import Future
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

# What a test may change besides rows. Names, not OIDs: a copy's objects are the template's.
FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
  SELECT 'relation ' || relname || ' ' || relkind::text || ' ' || coalesce(relacl::text, '') || ' '
         || pg_get_userbyid(relowner) || ' ' || relrowsecurity::text
    FROM pg_class WHERE relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                    AND relnamespace <> 'pg_toast'::regnamespace AND relpersistence <> 't'
  UNION ALL
  SELECT 'column ' || a.attrelid::regclass::text || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index
   WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
  UNION ALL
  SELECT 'trigger ' || tgname || ' ' || tgenabled::text || ' ' || pg_get_triggerdef(oid)
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT 'function ' || oid::regprocedure::text || ' ' || md5(prosrc) || ' ' || coalesce(proacl::text, '')
    FROM pg_proc WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  UNION ALL SELECT 'schema ' || nspname || ' ' || coalesce(nspacl::text, '') FROM pg_namespace
   WHERE nspname !~ '^pg_(toast_)?temp_[0-9]+$'
  UNION ALL SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension
  UNION ALL SELECT 'default acl ' || defaclacl::text FROM pg_default_acl
  UNION ALL SELECT 'policy ' || polname || ' ' || polrelid::regclass::text FROM pg_policy
  UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger
  UNION ALL SELECT 'database ' || coalesce(datacl::text, '') || ' ' || pg_get_userbyid(datdba)
    FROM pg_database WHERE datname = current_database()
  UNION ALL SELECT 'setting ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
   WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) fingerprint(item)
"""

TABLE_SIZES = """
SELECT relname, pg_total_relation_size(oid) FROM pg_class
 WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY relname
"""

SEQUENCES = "SELECT sequencename, last_value, start_value FROM pg_sequences WHERE schemaname = 'public'"

# A table this much larger than in the template is truncated rather than emptied row by row.
GROWN_BY = 256 * 1024


@dataclass
class Pristine:
    """A template as a new copy holds it: what a reset compares with and puts back."""

    fingerprint: str
    sizes: dict[str, int]
    rows: dict[str, list[tuple]]
    sequences: list[tuple[str, int | None, int]]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def drop_databases(admin_dsn: str, names: Iterable[str]) -> None:
    """DROP DATABASE for each (those still connected too), several at once, each on a connection
    of its own: one after another, each waited about 0.1 s for the server (twelve took 1.35 s,
    against 0.12 s at once), and the end of a run dropped every database the workers held."""

    async def drop(name: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
        finally:
            await connection.close()

    names = list(names)
    for start in range(0, len(names), 8):  # well inside the server's connection limit
        await asyncio.gather(*(drop(name) for name in names[start:start + 8]))


class PgDatabases:
    """Databases holding named templates on one server: copied once, then reset and reused."""

    def __init__(self, admin_url: URL, templates: dict[str, str], prefix: str) -> None:
        self._admin_url = admin_url
        self._templates = templates
        self._prefix = prefix
        self._numbers = itertools.count()
        self._pristine: dict[str, Pristine] = {}
        self._spare: dict[str, list[str]] = {}
        self._out: set[str] = set()  # taken by a test, not given back yet
        self._resetting: dict[str, set[asyncio.Task[None]]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-databases", daemon=True)
        self._thread.start()

    def dsn(self, database: str) -> str:
        """asyncpg's address of `database` on the server."""
        return self._admin_url.set(drivername="postgresql", database=database).render_as_string(hide_password=False)

    def _run(self, coroutine) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _admin(self, *statements: str, arguments: tuple = ()) -> None:
        connection = await asyncpg.connect(self.dsn(self._admin_url.database or "postgres"))
        try:
            for statement in statements:
                await connection.execute(statement, *arguments)
        finally:
            await connection.close()

    async def _copy(self, template: str) -> str:
        name = f"{self._prefix}{next(self._numbers)}"[:63]
        await self._admin(
            f'CREATE DATABASE {_quoted(name)} TEMPLATE {_quoted(self._templates[template])}',
            f'ALTER DATABASE {_quoted(name)} SET synchronous_commit = off',  # a test's commits need not wait for the disk
        )
        if template not in self._pristine:
            self._pristine[template] = await self._read_pristine(name)
        return name

    async def _read_pristine(self, name: str) -> Pristine:
        connection = await asyncpg.connect(self.dsn(name))
        try:
            sizes = dict(await connection.fetch(TABLE_SIZES))
            rows = {table: [tuple(row) for row in await connection.fetch(f"SELECT * FROM {_quoted(table)}")]
                    for table in sizes}
            return Pristine(
                fingerprint=await connection.fetchval(FINGERPRINT),
                sizes=sizes,
                rows={table: held for table, held in rows.items() if held},
                sequences=[tuple(row) for row in await connection.fetch(SEQUENCES)],
            )
        finally:
            await connection.close()

    async def _take(self, template: str, fresh: bool) -> str:
        name = None
        while not fresh and name is None:
            if spare := self._spare.get(template):
                name = spare.pop()
            elif resetting := self._resetting.get(template):
                await asyncio.wait(set(resetting), return_when=asyncio.FIRST_COMPLETED)  # 0.03 s, against a copy's 0.13+
            else:
                break
        name = name or await self._copy(template)
        self._out.add(name)
        return name

    async def take(self, template: str, *, fresh: bool = False) -> str:
        """The name of a database holding `template` as new: a reset one, or (`fresh`) a new copy."""
        return await asyncio.wrap_future(self._run(self._take(template, fresh)))

    def give_back(self, template: str, *names: str) -> None:
        """Finished databases of `template`: reset for the next test, without waiting."""

        def start() -> None:
            for name in names:
                self._out.discard(name)
                task = self._loop.create_task(self._reset(template, name))
                resetting = self._resetting.setdefault(template, set())
                resetting.add(task)
                task.add_done_callback(resetting.discard)

        self._loop.call_soon_threadsafe(start)

    async def _reset(self, template: str, name: str) -> None:
        try:
            await self._admin(  # what a test left connected (a console, a bouncer's pool) goes
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()", arguments=(name,))
            connection = await asyncpg.connect(self.dsn(name))
            try:
                reused = await self._put_back(connection, self._pristine[template])
            finally:
                await connection.close()
        except Exception:  # noqa: BLE001 - a database not surely as new is dropped, never reused
            log.exception("resetting test database %s", name)
            reused = False
        if reused:
            self._spare.setdefault(template, []).append(name)
        else:
            await self._drop(name)

    @staticmethod
    async def _put_back(connection: asyncpg.Connection, pristine: Pristine) -> bool:
        if await connection.fetchval(FINGERPRINT) != pristine.fingerprint:
            return False  # the test changed the schema
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")  # no trigger fires
            sizes = dict(await connection.fetch(TABLE_SIZES))
            grown = [table for table, size in sizes.items() if size > pristine.sizes[table] + GROWN_BY]
            statements = [f"DELETE FROM {_quoted(table)}" for table in sizes if table not in grown]
            if grown:
                statements.append("TRUNCATE " + ", ".join(map(_quoted, grown)))
            await connection.execute(";\n".join(statements))
            for table, rows in pristine.rows.items():
                await connection.copy_records_to_table(table, records=rows)
            if pristine.sequences:
                await connection.execute("SELECT " + ", ".join(
                    f"setval('{_quoted(sequence)}', {last}, true)" if last is not None
                    else f"setval('{_quoted(sequence)}', {start}, false)"
                    for sequence, last, start in pristine.sequences))
            await connection.execute(  # the planner's statistics, as in a copy never analysed
                "DELETE FROM pg_statistic WHERE starelid IN"
                " (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)")
        # The counters too (last_analyze, n_tup_ins), once this connection's own have reached them:
        # a backend adds its counts to the server's when it goes idle.
        await connection.execute("SELECT pg_stat_force_next_flush()")
        await connection.execute("SELECT pg_stat_reset()")
        return True

    async def _drop(self, *names: str) -> None:
        await drop_databases(self.dsn(self._admin_url.database or "postgres"), names)

    def drop(self, *names: str) -> None:
        """Drop databases no test will have again, without waiting (a connection left open is
        closed by force)."""
        if names:
            self._loop.call_soon_threadsafe(self._out.difference_update, names)
            self._run(self._drop(*names))

    def close(self) -> None:
        """Finish every reset, drop every database (those still taken too), and stop the thread."""

        async def finish() -> None:
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            await asyncio.gather(*pending, return_exceptions=True)
            left = [name for names in self._spare.values() for name in names] + sorted(self._out)
            self._spare.clear()
            self._out.clear()
            if left:
                await self._drop(*left)

        self._run(finish()).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
