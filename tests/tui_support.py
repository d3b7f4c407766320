"""Driving the real console under `App.run_test` (no mocks): log in, wait for workers."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from screens.shell import ShellScreen
from tui.app import MitraApp
from tui.dialogs import DIALOG

SIZE = (130, 40)


async def settle(pilot: Pilot, rounds: int = 3) -> None:
    """Let workers finish and their results reach the widgets. A worker cancelled by a newer one
    of its group (exclusive workers) is part of normal operation, not a failure."""
    for _ in range(rounds):
        for worker in list(pilot.app.workers):
            if worker.group == DIALOG:
                continue  # a dialog waits for the operator (the test), not for work in flight
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass
        await pilot.pause()


async def wait_until(pilot: Pilot, condition, timeout: float = 10.0) -> None:
    """Pause until `condition()` is true (database work runs in workers)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await settle(pilot, 1)


async def login(pilot: Pilot, username: str, password: str = "demo") -> None:
    """Type the credentials on the login screen and wait for the shell."""
    screen = pilot.app.screen
    screen.query_one("#username").value = username
    screen.query_one("#password").value = password
    screen.query_one("#password").focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ShellScreen))
    await settle(pilot)


async def fill(pilot: Pilot, text: str) -> None:
    """Put `text` into the focused field at its cursor, in one step. Typing key by key costs the
    pilot two idle waits per character; how typed keys land is tested key by key, and in a real
    terminal, by tests/test_login_bursts.py and the participants' search tests."""
    field = pilot.app.focused
    if isinstance(field, Input):
        field.insert_text_at_cursor(text)
    elif isinstance(field, TextArea):
        field.insert(text)
    else:
        raise AssertionError(f"no text field has the focus ({field!r})")
    await settle(pilot, 1)


def row_cells(table: DataTable, index: int) -> list[str]:
    """A table row's cells as the operator reads them (the console keeps a str cell as plain Text)."""
    return [str(cell) for cell in table.get_row_at(index)]


def table_lines(table: DataTable, count: int) -> list[str]:
    """A table's first lines as the terminal shows them (its header first)."""
    return ["".join(segment.text for segment in table.render_line(y)) for y in range(count)]


def console(db, **kwargs) -> MitraApp:
    return MitraApp(db, **kwargs)
