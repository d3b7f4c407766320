"""A lost database connection shows a clear message and the console keeps running."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from screens.shell import ShellScreen
from tests.conftest import _pg_execute
from tests.tui_support import SIZE, console, login, settle, wait_until

pytestmark = pytest.mark.both_backends  # a lost server is PostgreSQL's own behaviour

@pytest.fixture
def postgres_only(backend):
    if backend == "sqlite":
        pytest.skip("an open SQLite file cannot vanish from under the process; the server case is PostgreSQL")


async def test_dropped_connections_are_replaced_transparently(postgres_only, db, db_url):
    name = make_url(db_url).database
    app = console(db)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot, "reviewer")
        await _pg_execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        await pilot.press("r")
        await settle(pilot)
        assert not [n for n in app._notifications if n.severity == "error"]
        assert isinstance(app.screen, ShellScreen)


async def test_a_vanished_database_is_reported_and_the_console_survives(postgres_only, db, db_url):
    name = make_url(db_url).database
    app = console(db)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot, "reviewer")
        await _pg_execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await pilot.press("r")
        await wait_until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        [message] = [n.message for n in app._notifications if n.severity == "error"]
        assert "does not exist" in message or "Cannot reach" in message
        assert isinstance(app.screen, ShellScreen)
        await pilot.press("7")  # still usable: switching areas works, and reports again
        await settle(pilot)
        assert app.screen.query_one("#areas").current == "audit"
