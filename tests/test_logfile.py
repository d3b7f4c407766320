"""An unexpected error leaves a trace: the operator's message names the log file, and the file
holds the traceback with the operation and the operator, never a full NIK or a password. The
palette's debug-info view says which versions, database, schema revision and log file are in use.

The unexpected errors here are real: a table an insider dropped (a damaged database), not a
stand-in raising on purpose."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import text
from textual.widgets import Static

from store import migrate
from tests.cli_support import mitra_process
from tests.tui_support import SIZE, console, login, settle, wait_until
from tui import logfile


@pytest.fixture
def log_dir() -> Path:
    """The run's log directory (conftest points MITRA_LOG_DIR at a fresh one for the whole run)."""
    return Path(os.environ[logfile.LOG_DIR_ENV])


async def _drop_keys_table(db) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("DROP TABLE operator_key"))


def test_what_is_written_is_redacted_traceback_included(log_dir):
    path = logfile.setup()
    assert path == log_dir / "mitra.log"
    try:
        raise ValueError("lookup 3171012345678901 on postgresql://mitra:s3cret-pw@db.lan/prakerja "
                         "with {'password': 'hunter2', 'nik': '3171012345678901'}")
    except ValueError as error:
        logging.getLogger("mitra").error("a test failure", exc_info=error)
    written = path.read_text()
    assert "ValueError" in written and "Traceback" in written
    assert "317101******8901" in written and "3171012345678901" not in written
    assert "s3cret-pw" not in written and "hunter2" not in written
    assert "postgresql://mitra:***@db.lan/prakerja" in written


async def test_an_unexpected_error_in_the_console_names_the_log_file_which_holds_the_traceback(db, actors, log_dir):
    from screens.operators import SessionsScreen

    await _drop_keys_table(db)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "admin")
        await pilot.press("7")  # the Audit area, then its operators view, which lists SSH keys
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: any("Unexpected error" in n.message for n in app._notifications))
        assert isinstance(app.screen, SessionsScreen)  # the console goes on
        [note] = [n for n in app._notifications if "Unexpected error" in n.message]
        assert f"the details are in {log_dir / 'mitra.log'}" in note.message
    written = (log_dir / "mitra.log").read_text()
    assert "list_keys failed for operator admin" in written and "Traceback" in written
    assert "operator_key" in written


async def test_a_command_s_unexpected_error_is_one_line_naming_the_log_file(db, db_url, tmp_path):
    await _drop_keys_table(db)
    own_logs = tmp_path / "logs"
    result = mitra_process("operators", "keys", "list", "--db", db_url, "--operator", "admin",
                           password="demo", env={logfile.LOG_DIR_ENV: str(own_logs)})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Unexpected error:") and str(own_logs / "mitra.log") in line
    written = (own_logs / "mitra.log").read_text()
    assert "Traceback" in written and "operators keys failed for operator admin" in written


async def test_debug_info_shows_versions_database_revision_and_log_file(db, actors, log_dir):
    from screens.debug_info import DebugInfoScreen

    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "reviewer")
        app.show_debug_info()
        await wait_until(pilot, lambda: isinstance(app.screen, DebugInfoScreen))
        await settle(pilot)
        database = app.screen.query_one("#debug-database", Static)
        await wait_until(pilot, lambda: migrate.head_revision() in str(database.content))
        shown = str(database.content)
        assert f"{db.backend}:" in shown and "expects" not in shown  # at the revision this code expects
        versions = str(app.screen.query_one("#debug-versions", Static).content)
        assert "Textual" in versions and str(log_dir / "mitra.log") in versions
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, DebugInfoScreen))
