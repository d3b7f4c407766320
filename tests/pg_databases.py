"""A test's PostgreSQL database, ready before the test asks for it.

Each test gets a database of its own, copied from a template. Copying one and dropping one cost
0.1-0.4 s each on a busy server, about a fifth of the suite's PostgreSQL time when a test waited
for them. Here a thread of the worker's own makes the next copy of each template while the
current test runs, and drops finished databases behind it: a test takes a database that is already
there and leaves without waiting for its drop.

The copies use CREATE DATABASE's default strategy (WAL_LOG, PostgreSQL 15+): FILE_COPY, measured
faster on an idle server, forces two checkpoints per copy, and with the suite's other worker
writing, those took 0.3-0.8 s each against 0.07-0.13 s.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from concurrent.futures import Future

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class PgDatabases:
    """Databases copied from named templates on one server, made ahead and dropped behind."""

    def __init__(self, admin_url: URL, templates: dict[str, str], prefix: str) -> None:
        self._admin_url = admin_url
        self._templates = templates
        self._prefix = prefix
        self._numbers = itertools.count()
        self._next: dict[str, Future[str]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-databases", daemon=True)
        self._thread.start()
        self._engine: AsyncEngine = self._run(self._make_engine()).result()

    async def _make_engine(self) -> AsyncEngine:
        return create_async_engine(self._admin_url, isolation_level="AUTOCOMMIT", pool_size=2)

    def _run(self, coroutine) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _execute(self, *statements: str) -> None:
        async with self._engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))

    async def _copy(self, template: str, name: str) -> str:
        await self._execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{self._templates[template]}"',
            f'ALTER DATABASE "{name}" SET synchronous_commit = off',  # a test's commits need not wait for the disk
        )
        return name

    def _start_copy(self, template: str) -> Future[str]:
        return self._run(self._copy(template, f"{self._prefix}{next(self._numbers)}"[:63]))

    async def take(self, template: str) -> str:
        """The name of a fresh copy of `template`; the next copy starts at once."""
        ready = self._next.pop(template, None) or self._start_copy(template)
        name = await asyncio.wrap_future(ready)
        self._next[template] = self._start_copy(template)
        return name

    def drop(self, *names: str) -> None:
        """Drop finished databases, without waiting (a connection left open is closed by force)."""
        if names:
            self._run(self._execute(*[f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names]))

    def close(self) -> None:
        """Drop the copies nobody took, finish every drop, and stop the thread."""
        unused = [future.result() for future in self._next.values()]
        self._next.clear()
        self.drop(*unused)

        async def finish() -> None:
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            await asyncio.gather(*pending, return_exceptions=True)
            await self._engine.dispose()

        self._run(finish()).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
