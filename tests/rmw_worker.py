"""A process that does read-modify-write units of work on one setting (run by test_concurrency).

    python -m tests.rmw_worker URL COUNT

Each unit of work reads the counter, adds one and writes it back, retrying when another operator
changed it first (optimistic locking on PostgreSQL; on SQLite, BEGIN IMMEDIATE serialises them).
"""

from __future__ import annotations

import asyncio
import json
import sys

from store.engine import create_database
from store.errors import Conflict
from store.models import Setting
from store.services import operators
from store.uow import unit_of_work

KEY = "obligations.due_days"


async def main(url: str, count: int) -> int:
    db = create_database(url)
    retries = 0
    try:
        actor = await operators.load_actor(db, "admin")
        for _ in range(count):
            while True:
                try:
                    async with unit_of_work(db, actor) as uow:
                        row = await uow.session.get(Setting, KEY)
                        value = json.loads(row.value)
                        row.value = json.dumps(value + 1)
                        uow.audit("test.increment", "setting", KEY, before={"value": value}, after={"value": value + 1})
                    break
                except Conflict:
                    retries += 1
    finally:
        await db.dispose()
    return retries


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
