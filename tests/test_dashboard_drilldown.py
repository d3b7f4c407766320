"""A dashboard line opens the work it counts: Enter on "Completions flagged as too fast" lists
those completions (a list that exists nowhere else), on "Batches waiting for your approval" the
batches in that state, on "Overdue platform obligations" the first platform behind on them."""

from __future__ import annotations

from textual.widgets import DataTable, Select

from screens.participants_detail import ParticipantScreen
from screens.participants_flagged import FlaggedCompletionsScreen
from store.services import dashboard, enrollments
from tests.conftest import Actors
from tests.tui_support import SIZE, console, login, settle, wait_until
from tui.widgets.paged_table import PagedTable


async def _open_line(pilot, queue_key: str) -> None:
    table = pilot.app.screen.query_one("#queues", DataTable)
    await wait_until(pilot, lambda: table.row_count > 0 and any(
        str(key.value).endswith(":" + queue_key) for key in table.rows))
    row = next(index for index, key in enumerate(table.rows) if str(key.value).endswith(":" + queue_key))
    table.focus()
    table.move_cursor(row=row)
    await pilot.press("enter")
    await settle(pilot)


async def test_dashboard_lines_open_the_filtered_work(small_demo):
    db = small_demo
    actors = await Actors(db).load()
    queues = {queue.key: queue.count for queue in await dashboard.work_waiting(db, actors.coordinator)}
    flagged = await enrollments.list_flagged_completions(db, actors.coordinator)
    assert queues["completions_flagged"] == len(flagged.rows) > 0

    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await _open_line(pilot, "completions_flagged")
        await wait_until(pilot, lambda: isinstance(app.screen, FlaggedCompletionsScreen))
        table = app.screen.query_one("#flagged-table", PagedTable)
        await wait_until(pilot, lambda: table.complete and table.row_count == len(flagged.rows))
        first = table.selected_row()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ParticipantScreen) and app.screen.file is not None)
        assert app.screen.file.full_name == first.full_name
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, FlaggedCompletionsScreen))
        await pilot.press("escape")
        await settle(pilot)

        await _open_line(pilot, "obligations_overdue")
        area = app.screen.current_area
        await wait_until(pilot, lambda: area.rows and area.selected() is not None and area.selected().overdue > 0)

    approver_queues = {queue.key: queue.count for queue in await dashboard.work_waiting(db, actors.approver)}
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "approver")
        await _open_line(pilot, "batches_submitted")
        area = app.screen.current_area
        await wait_until(pilot, lambda: area.AREA_ID == "payments"
                         and area.query_one("#filter-state", Select).value == "submitted")
        batches = area.query_one("#batches", PagedTable)
        await wait_until(pilot, lambda: batches.complete)
        shown = [batches.rows_by_key[key].state for key in batches.rows_by_key]
        assert shown and set(shown) == {"submitted"}
        assert len(shown) >= approver_queues["batches_submitted"]
