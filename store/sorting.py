"""A list in the order the operator chooses, still paged by keyset (store/paging.py).

Each list names its orders: the key columns, ending with the id so that the key is unique (a
keyset needs that), and whether the list runs from the largest key down. The key columns are
added to the query as `sort_0`, `sort_1` ... so a page's last row gives the cursor of the next.
Key columns must not be NULL: a row-value comparison with NULL compares as unknown and the row
would drop out of the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, SQLColumnExpression

from store.errors import InvalidInput
from store.paging import Cursor, keyset


@dataclass(frozen=True)
class Order:
    key: tuple[SQLColumnExpression[Any], ...]
    descending: bool = False


def ordered(
    query: Select[*tuple[Any, ...]], orders: Mapping[str, Order], sort: str, cursor: Cursor | None, limit: int
) -> Select[*tuple[Any, ...]]:
    """`query` in the order named `sort`, after `cursor`, one row more than `limit`."""
    order = orders.get(sort)
    if order is None:
        raise InvalidInput("list.sort_unknown", field="sort", value=sort)
    query = query.add_columns(*(column.label(f"sort_{i}") for i, column in enumerate(order.key)))
    return keyset(query, list(order.key), cursor, limit, descending=order.descending)


def sort_key(row: Any) -> tuple[Any, ...]:
    """A row's place in its order: the cursor that follows it."""
    return tuple(value for name, value in row._mapping.items() if name.startswith("sort_"))
