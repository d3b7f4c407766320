"""Bulk inserts at the rate the databases allow.

Measured rates (rows/s): raw sqlite3 executemany ~320k; Core insert in 10k batches ~164k; ORM bulk
~99k; session.add_all ~5.5k. On PostgreSQL, COPY through asyncpg beats any INSERT. Used by the
participant import and the demo generator; both run inside one unit of work per batch.

On SQLite the rows go to the driver's executemany as tuples, each value converted once by its
column type's bind processor (the same conversion SQLAlchemy applies), skipping SQLAlchemy's
per-row parameter handling: for the 18-column participant row that handling cost more than the
insert itself (bench/import_participants.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from store.column_guard import check_rows


async def insert_rows(target: AsyncSession | AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert `rows` (dicts with the same keys) into `table` in the caller's transaction."""
    if not rows:
        return 0
    check_rows(table, rows)
    connection = await target.connection() if isinstance(target, AsyncSession) else target
    columns = list(rows[0].keys())
    # A row's values in the columns' order, in one call (itemgetter of one key gives no tuple).
    get = itemgetter(*columns)
    values_of: Callable[[dict[str, Any]], tuple[Any, ...]] = get if len(columns) > 1 else lambda row: (get(row),)
    if connection.dialect.name == "postgresql":
        records = list(map(values_of, rows))
        await (await _driver(connection)).copy_records_to_table(table.name, records=records, columns=columns)
    else:
        dialect = connection.dialect
        # Only dates and times need converting; done as SQLAlchemy would (its dialect's processor).
        converters = [
            (index, processor)
            for index, column in enumerate(columns)
            if (processor := table.c[column].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        # Batches repeat values (one timestamp for a whole import batch, dates shared by many
        # people): convert each distinct value once.
        memo: dict[tuple[int, Any], Any] = {}
        converted = []
        for row in rows:
            values = list(values_of(row))
            for index, processor in converters:
                value = values[index]
                if value is not None:
                    key = (index, value)
                    if key not in memo:
                        memo[key] = processor(value)
                    values[index] = memo[key]
            converted.append(values)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        await (await _driver(connection)).executemany(sql, converted)
    return len(rows)


async def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection (asyncpg's, aiosqlite's) under SQLAlchemy's."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # None only once the connection is closed, and ours is in use
    return driver

