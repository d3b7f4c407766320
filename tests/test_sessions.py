"""Who is logged in where: a console's login records its session (origin, peer, since, last
action); an admin lists them and ends one, and that console is refused at its next action."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store import session_check
from store.errors import InvalidInput, PermissionDenied, RuleViolation, SessionEnded
from store.models import AuditEvent, OperatorSession
from store.services import operators, sessions
from store.uow import read_session, unit_of_work


async def _console_login(db, username: str, origin=("ssh", "10.20.30.40")):
    actor = await operators.login(db, username, "demo", defer_record=True, session_from=origin)
    await db.settle()  # the session is written with the login's record
    return actor


async def _row(db, actor) -> OperatorSession:
    async with read_session(db) as session:
        return (await session.execute(
            select(OperatorSession).where(OperatorSession.token == actor.session_token)
        )).scalar_one()


async def test_a_console_login_records_its_session_and_admins_list_it(db, actors):
    coordinator = await _console_login(db, "coordinator")
    row = await _row(db, coordinator)
    assert (row.origin, row.peer, row.ended_at) == ("ssh", "10.20.30.40", None)
    listed = await sessions.list_sessions(db, actors.admin)
    assert [(v.operator, v.origin, v.peer, v.open) for v in listed] == [("coordinator", "ssh", "10.20.30.40", True)]
    assert await sessions.list_sessions(db, actors.auditor)  # auditors read it too
    with pytest.raises(PermissionDenied):
        await sessions.list_sessions(db, actors.coordinator)
    # A command line opens no session.
    await operators.login(db, "finance", "demo")
    assert len(await sessions.list_sessions(db, actors.admin)) == 1
    with pytest.raises(InvalidInput):
        await operators.login(db, "finance", "demo", session_from=("carrier-pigeon", ""))


async def test_an_ended_session_is_refused_at_its_next_action_read_or_write(db, actors):
    coordinator = await _console_login(db, "coordinator")
    [view] = await sessions.list_sessions(db, actors.admin)
    with pytest.raises(PermissionDenied):
        await sessions.end_session(db, actors.auditor, view.id, "looks odd")
    with pytest.raises(InvalidInput):
        await sessions.end_session(db, actors.admin, view.id, "  ")
    ended = await sessions.end_session(db, actors.admin, view.id, "Laptop reported stolen")
    assert (ended.open, ended.ended_by, ended.end_reason) == (False, "admin", "Laptop reported stolen")
    with pytest.raises(SessionEnded) as refused:
        await session_check.check(db, coordinator)
    assert refused.value.key == "session.ended" and refused.value.params["reason"] == "Laptop reported stolen"
    with pytest.raises(SessionEnded):
        async with unit_of_work(db, coordinator):
            pass
    with pytest.raises(RuleViolation) as again:
        await sessions.end_session(db, actors.admin, view.id, "twice")
    assert again.value.key == "session.already_ended"
    # The same operator logging in again gets a new session.
    fresh = await _console_login(db, "coordinator")
    await session_check.check(db, fresh)
    async with read_session(db) as session:
        event = (await session.execute(
            select(AuditEvent).where(AuditEvent.action == "operator_session.ended")
        )).scalar_one()
    assert (event.operator_name, event.reason) == ("admin", "Laptop reported stolen")


async def test_last_action_moves_with_work_and_logging_out_ends_the_session(db, actors):
    coordinator = await _console_login(db, "coordinator", ("terminal", "meja-3"))
    before = (await _row(db, coordinator)).last_action_at
    async with unit_of_work(db, coordinator):
        pass
    assert (await _row(db, coordinator)).last_action_at > before
    # Logging out closes the row, even for an operator deactivated meanwhile.
    await operators.set_active(db, actors.admin, "coordinator", False, "left the office")
    await sessions.log_out(db, coordinator)
    row = await _row(db, coordinator)
    assert row.ended_at is not None and row.end_reason == "logged out"


def test_sessions_on_the_command_line(db_url):
    import asyncio

    from store.engine import create_database
    from tests.cli_support import mitra

    async def setup():
        database = create_database(db_url)
        try:
            await _console_login(database, "coordinator")
        finally:
            await database.dispose()

    asyncio.run(setup())
    listed = mitra("operators", "sessions", "--db", db_url, "--operator", "admin", "--lang", "en")
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if "coordinator" in line]
    assert "ssh" in line and "10.20.30.40" in line and "open" in line
    session_id = line.split()[0]
    ended = mitra("operators", "end-session", session_id, "--reason", "Shift over", "--db", db_url,
                  "--operator", "admin", "--lang", "en")
    assert ended.returncode == 0, ended.stdout + ended.stderr
    assert f"Session {session_id} of coordinator (ssh 10.20.30.40) ended" in ended.stdout
    denied = mitra("operators", "end-session", session_id, "--reason", "x", "--db", db_url,
                   "--operator", "coordinator", "--lang", "en")
    assert denied.returncode == 1


async def test_an_admin_ends_a_console_session_from_the_console_and_it_returns_to_login(db, actors):
    from textual.widgets import DataTable, Input

    from screens.login import LoginScreen
    from screens.operators import SessionsScreen
    from screens.participants_forms import FormScreen
    from tests.tui_support import SIZE, console, login, row_cells, settle, wait_until

    field_staff = console(db)
    async with field_staff.run_test(size=SIZE) as staff_pilot:
        await login(staff_pilot, "coordinator")
        assert field_staff.actor.session_token is not None

        office = console(db)
        async with office.run_test(size=SIZE) as pilot:
            await login(pilot, "admin")
            await pilot.press("7")  # the Audit area
            await settle(pilot)
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(office.screen, SessionsScreen) and office.screen.views)
            table = office.screen.query_one("#sessions", DataTable)
            rows = [row_cells(table, i) for i in range(table.row_count)]
            assert {row[1] for row in rows} == {"coordinator", "admin"}
            mine = [i for i, row in enumerate(rows) if row[1] == "coordinator"][0]
            table.move_cursor(row=mine)
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(office.screen, FormScreen))
            office.screen.query_one(Input).value = "Shift over"
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(office.screen, SessionsScreen))

        await staff_pilot.press("5")  # the coordinator's next action
        await wait_until(staff_pilot, lambda: isinstance(field_staff.screen, LoginScreen))
        assert any("ended your session (Shift over)" in n.message for n in field_staff._notifications)


async def test_an_admin_unlocks_a_locked_operator_from_the_console(db, actors):
    from textual.widgets import DataTable

    from screens.operators import SessionsScreen
    from store.errors import AuthenticationFailed
    from store.models import Operator
    from tests.tui_support import SIZE, console, login, row_cells, settle, wait_until

    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            await operators.login(db, "coordinator", "wrong")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "admin")
        await pilot.press("7")
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.operators)
        table = app.screen.query_one("#operators", DataTable)
        row = [i for i in range(table.row_count) if row_cells(table, i)[0] == "coordinator"][0]
        assert "locked until" in str(table.get_row_at(row)[3])
        table.focus()
        table.move_cursor(row=row)
        await pilot.press("u")
        await wait_until(pilot, lambda: "active" == str(app.screen.query_one("#operators", DataTable).get_row_at(row)[3]))
    async with read_session(db) as session:
        locked = (await session.execute(select(Operator.locked_until).where(Operator.username == "coordinator"))).scalar_one()
    assert locked is None
    assert (await operators.login(db, "coordinator", "demo")).username == "coordinator"
