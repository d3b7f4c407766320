"""SQLite's async driver with one trip to its thread per statement, not three or four.

aiosqlite runs the sqlite3 connection in a thread of its own, and every call to it is a trip
there and back (a queue, a wake-up, a reply through the event loop). SQLAlchemy's adapter makes
a statement four such calls: open a cursor, execute, fetch the rows, close the cursor. The
statements are small and quick, so the trips were most of the cost: building the demo made
51,000 context switches for 6,600 statements. Here the four calls are one: the thread opens
the cursor, executes, fetches and closes, and sends back the rows with what SQLAlchemy reads
after them (description, rowcount, lastrowid). Measured on the demo build (30 participants):
7.3-8.8 s against 10.8-11.1 s, 16,000 context switches against 51,000.

The statements, their order, their transactions and their errors are those of the stock
adapter: only the way to the thread changes. Streamed results (server-side cursors) keep the
stock cursor, since they fetch a part at a time.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


class _Finished:
    """What SQLAlchemy reads of a cursor once its rows are fetched and it is closed (before its
    first statement: what a new sqlite3 cursor says)."""

    __slots__ = ("description", "rowcount", "lastrowid", "arraysize")

    def __init__(self, description: Any = None, rowcount: int = -1, lastrowid: int | None = None,
                 arraysize: int = 1) -> None:
        self.description, self.rowcount, self.lastrowid, self.arraysize = description, rowcount, lastrowid, arraysize

    @classmethod
    def of(cls, cursor: sqlite3.Cursor, arraysize: int) -> _Finished:
        return cls(cursor.description, cursor.rowcount, cursor.lastrowid, arraysize)


def _run(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool, arraysize: int
) -> tuple[_Finished, list[Any]]:
    """In the driver's thread: the whole of one statement (`arraysize`: the caller's, kept)."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Finished.of(cursor, arraysize), rows
    finally:
        cursor.close()


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False  # nothing is left open in the thread to close

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Finished()  # the real one is made in the thread, with each statement

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    def close(self) -> None:
        self._rows.clear()

    async def _one_trip(self, operation: Any, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            arraysize = self._cursor.arraysize
            # A statement that fails leaves what a failed one says (no description), not the last one's.
            self._cursor = _Finished(arraysize=arraysize)  # type: ignore[assignment]
            # aiosqlite's own way into its thread (SQLAlchemy's adapter uses its queue too).
            finished, rows = await driver._execute(  # type: ignore[no-untyped-call]
                _run, driver._conn, operation, parameters, many, arraysize
            )
            self._cursor = finished
            self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._one_trip(operation, () if parameters is None else parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._one_trip(operation, seq_of_parameters, True)


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module for `create_async_engine(..., module=OneTripDBAPI())`."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        stock = super().connect(*arg, **kw)
        return _OneTripConnection(self, stock._connection)
