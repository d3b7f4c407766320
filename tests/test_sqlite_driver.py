"""SQLite's driver makes one trip to its thread per statement, and answers as the stock one does."""

from __future__ import annotations

import sqlite3

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from store.engine import create_database

_metadata = MetaData()
_things = Table(
    "thing", _metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
    Column("size", Integer, nullable=False, default=0),
)


@pytest.fixture
async def sqlite_db(tmp_path):
    db = create_database(str(tmp_path / "driver.db"))
    async with db.write_engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)
    yield db
    await db.dispose()


@pytest.fixture
def trips(monkeypatch):
    """Names the calls sent to aiosqlite's thread (the real method still runs each one)."""
    sent: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return sent


async def test_a_statement_is_one_trip_to_the_driver_thread(sqlite_db, trips):
    async with sqlite_db.engine.connect() as connection:
        await connection.execute(select(_things.c.id))  # the connection is open and set up
        trips.clear()
        await connection.execute(insert(_things), [{"name": "a"}, {"name": "b"}])
        names = (await connection.execute(select(_things.c.name).order_by(_things.c.id))).scalars().all()
        assert names == ["a", "b"]
        # The stock adapter sends cursor, execute, fetchall and close: four trips for the select.
        assert trips == ["_run", "_run"]
        await connection.rollback()


async def test_rows_counts_new_ids_and_errors_are_as_the_stock_driver_gives_them(sqlite_db):
    async with sqlite_db.write_engine.begin() as connection:
        first = await connection.execute(insert(_things).values(name="a", size=1))
        assert first.inserted_primary_key == (1,) and first.rowcount == 1
        second = await connection.execute(insert(_things).values(name="b", size=2))
        assert second.inserted_primary_key == (2,)
        many = await connection.execute(insert(_things), [{"name": name, "size": 3} for name in "cde"])
        assert many.rowcount == 3
        grown = await connection.execute(update(_things).where(_things.c.size >= 2).values(size=_things.c.size + 10))
        assert grown.rowcount == 4
        returned = await connection.execute(
            update(_things).where(_things.c.name == "a").values(size=7).returning(_things.c.id, _things.c.size)
        )
        assert returned.one() == (1, 7)
        nothing = await connection.execute(select(_things.c.id).where(_things.c.name == "z"))
        assert nothing.first() is None
    with pytest.raises(IntegrityError):  # the same name twice: SQLAlchemy's error, as before
        async with sqlite_db.write_engine.begin() as connection:
            await connection.execute(insert(_things).values(name="f"))
            await connection.execute(insert(_things).values(name="a"))
    async with sqlite_db.engine.connect() as connection:
        rows = (await connection.execute(select(_things.c.name, _things.c.size).order_by(_things.c.id))).all()
    assert rows == [("a", 7), ("b", 12), ("c", 13), ("d", 13), ("e", 13)]  # "f" went with its transaction


async def test_a_raw_cursor_keeps_its_arraysize_and_a_failed_statement_has_no_description(sqlite_db):
    def raw(connection):
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute("INSERT INTO thing (name, size) VALUES ('a', 1), ('b', 1), ('c', 1), ('d', 1)")
        cursor.arraysize = 3
        cursor.execute("SELECT name FROM thing ORDER BY id")
        first = cursor.fetchmany()
        with pytest.raises(sqlite3.IntegrityError):
            cursor.execute("INSERT INTO thing (name, size) VALUES ('a', 1)")  # the same name again
        return first, cursor.arraysize, cursor.description

    async with sqlite_db.write_engine.begin() as connection:
        first, arraysize, description = await connection.run_sync(raw)
    assert [row[0] for row in first] == ["a", "b", "c"] and arraysize == 3
    assert description is None  # not the SELECT's, before it

