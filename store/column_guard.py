"""Every value on its way into the database fits its column: a class of faults fixed once.

SQLite stores a 300-character e-mail in a VARCHAR(200) column, and a NUL byte, without a word;
PostgreSQL refuses both with errors no operator can read; an amount past BIGINT overflows on
both. Validators check the fields they know; this guard checks every string and money column of
every row written through the ORM (mapper events) or `store.bulk.insert_rows`, and refuses with
the column's name: "value too long", "control characters", "amount too large".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, Connection, String, Table, event
from sqlalchemy.orm import Mapper
from sqlmodel import SQLModel

from store.errors import InvalidInput
from store.models import Record
from store.validators import MAX_AMOUNT_IDR

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _limits(table: Table) -> dict[str, tuple[str, int | None]]:
    limits = {}
    for column in table.columns:
        if isinstance(column.type, String):
            limits[column.name] = ("text", column.type.length)
        elif isinstance(column.type, BigInteger) and column.name.endswith("_idr"):
            limits[column.name] = ("money", MAX_AMOUNT_IDR)
    return limits


_CACHE: dict[str, dict[str, tuple[str, int | None]]] = {}


def _limits_of(table: Table) -> dict[str, tuple[str, int | None]]:
    limits = _CACHE.get(table.name)
    if limits is None:
        limits = _CACHE[table.name] = _limits(table)
    return limits


def check_rows(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """`check_row` for each of many rows with the same columns (a bulk insert), a column at a
    time: the longest text, one printable test over all of a column's texts, the largest amount,
    each a pass in C. Only a column with a doubtful value is checked row by row, and refuses
    with the error `check_row` gives the first row whose value there breaks a rule. Row by row,
    this guard was a fifth of the participant import's time (18 columns, 10,000 rows a batch)."""
    limits = _limits_of(table)
    for name in rows[0].keys() if rows else ():
        kind_limit = limits.get(name)
        if kind_limit is None:
            continue
        kind, limit = kind_limit
        column = list(map(itemgetter(name), rows))
        if column.count(None) == len(column):
            continue  # nothing written in this column (a state's reason, not yet given)
        if _doubtful(column, kind, limit):
            for row in rows:
                check_row(table, {name: row[name]})


def _doubtful(column: list[Any], kind: str, limit: int | None) -> bool:
    """Whether a value of the column might break its rule (`check_row` then says)."""
    if kind == "money":
        amounts = [value for value in column if isinstance(value, int)]
        return bool(amounts) and max(map(abs, amounts)) > MAX_AMOUNT_IDR
    try:  # all texts, as nearly always: each test one pass in C
        return (limit is not None and max(map(len, column)) > limit) or not "".join(column).isprintable()
    except TypeError:  # a None (or another type) among them: the texts alone
        texts = [value for value in column if isinstance(value, str)]
        return bool(texts) and _doubtful(texts, kind, limit)


def check_row(table: Table, values: dict[str, Any]) -> None:
    limits = _limits_of(table)
    for name, value in values.items():
        kind_limit = limits.get(name)
        if kind_limit is None or value is None:
            continue
        kind, limit = kind_limit
        if kind == "text" and isinstance(value, str):
            if limit is not None and len(value) > limit:
                raise InvalidInput("input.too_long", field=name, max=limit)
            # isprintable() (one pass in C) is true of nearly every value, and then no control
            # character can be in it; only the rest are searched.
            if not value.isprintable() and _CONTROL.search(value):
                raise InvalidInput("input.control_characters", field=name)
        elif kind == "money" and isinstance(value, int) and abs(value) > MAX_AMOUNT_IDR:
            raise InvalidInput("input.amount_too_large", field=name, max_idr=MAX_AMOUNT_IDR)


def _check_instance(_mapper: Mapper[Any], _connection: Connection, target: Record) -> None:
    table = target.__table__
    check_row(table, {column.name: getattr(target, column.key, None) for column in table.columns
                      if hasattr(target, column.key)})


event.listen(SQLModel, "before_insert", _check_instance, propagate=True)
event.listen(SQLModel, "before_update", _check_instance, propagate=True)
