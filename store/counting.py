"""How many rows a list holds, without scanning millions of them on every screen open.

Up to EXACT_UP_TO rows are counted exactly (counting stops there: the cost is bounded by it,
not by the registry). Beyond it, PostgreSQL's planner estimate is given, marked as one; SQLite
has no estimate to ask for, and counts the whole list (one pass over an index: about 0.1 s a
million rows). The console asks for a count in a worker after the page is on the screen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

EXACT_UP_TO = 100_000


@dataclass(frozen=True)
class Count:
    value: int
    exact: bool  # False: the planner's estimate ("about ...")


async def count_of(
    session: AsyncSession, query: Select[*tuple[Any, ...]], *, exact_up_to: int = EXACT_UP_TO
) -> Count:
    """How many rows `query` (any SELECT) returns: exactly, or an estimate when above `exact_up_to`."""
    bounded = (await session.execute(
        select(func.count()).select_from(query.limit(exact_up_to + 1).order_by(None).subquery())
    )).scalar_one()
    if bounded <= exact_up_to:
        return Count(bounded, True)
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return Count((await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one(), True)
    # The values are the list's own filters, rendered by SQLAlchemy's literal rendering (quotes
    # doubled): EXPLAIN takes no bound parameters through the driver.
    statement = str(query.order_by(None).compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    plan = (await session.execute(text(f"EXPLAIN (FORMAT JSON) {statement}"))).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return Count(max(int(plan[0]["Plan"]["Plan Rows"]), exact_up_to + 1), False)
