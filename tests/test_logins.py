"""Logins: lockout after consecutive failures, unknown names refused after the same work, and
reads (with their login) going ahead while another process holds SQLite's write lock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from store.errors import AuthenticationFailed
from store.models import AuditEvent, Operator
from store.services import operators, settings
from store.uow import read_session
from tests.cli_support import MITRA, mitra


async def _actions(db, entity_id) -> list[str]:
    async with read_session(db) as session:
        rows = await session.execute(
            select(AuditEvent.action).where(AuditEvent.entity == "operator", AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        )
        return list(rows.scalars())


async def _operator(db, name) -> Operator:
    async with read_session(db) as session:
        return (await session.execute(select(Operator).where(Operator.username == name))).scalar_one()


async def _fail(db, name, password="wrong", times=1):
    for _ in range(times):
        with pytest.raises(AuthenticationFailed) as refused:
            await operators.login(db, name, password)
    return refused.value


async def test_five_failures_lock_the_account_and_an_admin_unlocks_it(db, db_url, actors):
    await _fail(db, "reviewer", times=4)
    assert (await _operator(db, "reviewer")).locked_until is None
    await _fail(db, "reviewer")
    reviewer = await _operator(db, "reviewer")
    assert reviewer.locked_until is not None and reviewer.failed_logins == 5
    # Locked: even the right password is refused (it says until when, since it was right) ...
    locked = await _fail(db, "reviewer", password="demo")
    assert locked.key == "auth.locked"
    # ... while a wrong one reads exactly like any wrong password.
    assert (await _fail(db, "reviewer")).key == "auth.failed"
    assert "operator.locked" in await _actions(db, reviewer.id)

    result = mitra("operators", "unlock", "reviewer", "--db", db_url, "--operator", "admin")
    assert result.returncode == 0, result.stderr
    assert "reviewer can log in again" in result.stdout
    await operators.login(db, "reviewer", "demo")
    assert (await _operator(db, "reviewer")).failed_logins == 0
    assert "operator.unlocked" in await _actions(db, reviewer.id)


async def test_the_lockout_limit_is_a_setting_and_success_resets_the_count(db, actors):
    await settings.change(db, actors.admin, "operators.lockout_failures", 2)
    await _fail(db, "curator")
    await operators.login(db, "curator", "demo")
    await _fail(db, "curator")
    assert (await _operator(db, "curator")).locked_until is None  # 1 since the last success
    await _fail(db, "curator")
    assert (await _operator(db, "curator")).locked_until is not None


async def test_an_unknown_name_is_checked_against_a_password_hash_too(db, monkeypatch):
    """Refusing an unknown name without hashing would tell names apart by time."""
    checked = []
    real = operators.check_password
    monkeypatch.setattr(operators, "check_password", lambda pw, stored: checked.append(stored) or real(pw, stored))
    assert (await _fail(db, "nobody-by-this-name")).key == "auth.failed"
    assert (await _fail(db, "reviewer")).key == "auth.failed"
    assert len(checked) == 2 and all(stored.startswith("scrypt$") for stored in checked)


async def test_a_deactivated_account_answers_like_a_wrong_password(db, actors):
    await operators.set_active(db, actors.admin, "reviewer", False, "left the office")
    assert (await _fail(db, "reviewer")).key == "auth.failed"
    assert (await _fail(db, "reviewer", password="demo")).key == "auth.inactive"


LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE setting SET key = key")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


async def test_reads_and_logins_go_ahead_while_another_process_holds_the_write_lock(db, db_url, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL has no database-wide write lock")
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, db_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        env = {key: value for key, value in os.environ.items() if not key.startswith("MITRA_")}
        env.update(MITRA_PASSWORD="demo", LANG="C.UTF-8", MITRA_AUDIT_KEY=os.environ["MITRA_AUDIT_KEY"])
        reader = subprocess.Popen(
            [MITRA, "payments", "list", "--db", db_url, "--operator", "finance"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        # The list is printed while the lock is still held (its login's record waits).
        first_line = reader.stdout.readline()
        assert first_line.strip(), reader.stderr.read()
        assert locker.poll() is None, "the lock was released before the list was read"
    finally:
        locker.stdin.write("\n")
        locker.stdin.flush()
        locker.wait(timeout=30)
    assert reader.wait(timeout=60) == 0, reader.stderr.read()
    # The login was recorded all the same, once the lock was free.
    finance = await _operator(db, "finance")
    assert (await _actions(db, finance.id))[-1] == "operator.login"


async def test_a_deactivated_operators_next_action_is_refused(db, actors):
    from store.errors import SessionEnded

    await operators.create_operator(db, actors.admin, "admin2", "secret", ["admin"])
    second = await operators.login(db, "admin2", "secret")
    await operators.set_active(db, actors.admin, "admin2", False, "left the office")
    with pytest.raises(SessionEnded) as ended:
        await settings.change(db, second, "obligations.due_days", 12)
    assert ended.value.key == "session.deactivated"


async def test_an_operator_whose_roles_were_taken_is_refused(db, actors):
    from store.errors import SessionEnded
    from store.models import OperatorRole
    from store.uow import unit_of_work

    admin = await operators.login(db, "admin", "demo")
    async with unit_of_work(db, actors.admin) as uow:  # roles changed by another admin's hand
        await uow.session.execute(OperatorRole.__table__.delete().where(OperatorRole.operator_id == admin.operator_id))
        uow.session.add(OperatorRole(operator_id=admin.operator_id, role="auditor"))
    with pytest.raises(SessionEnded) as ended:
        await settings.change(db, admin, "obligations.due_days", 12)
    assert ended.value.key == "session.roles_changed"


async def test_an_operator_left_with_no_role_or_moved_to_another_platform_is_refused(db, actors):
    from store.errors import SessionEnded
    from store.models import Operator, OperatorRole
    from store.session_check import check
    from store.uow import unit_of_work

    reviewer = await operators.login(db, "reviewer", "demo")
    tokopedia = await operators.login(db, "tokopedia", "demo")
    await check(db, reviewer)
    await check(db, tokopedia)
    async with unit_of_work(db, actors.admin) as uow:  # changed by another hand
        await uow.session.execute(OperatorRole.__table__.delete().where(OperatorRole.operator_id == reviewer.operator_id))
        await uow.session.execute(Operator.__table__.update().where(Operator.id == tokopedia.operator_id)
                                  .values(platform_id=actors.bukalapak.platform_id))
    for moved in (reviewer, tokopedia):
        with pytest.raises(SessionEnded) as ended:
            await check(db, moved)
        assert ended.value.key == "session.roles_changed"


async def test_the_console_logs_out_an_operator_deactivated_meanwhile(db, actors):
    from screens.login import LoginScreen
    from tests.tui_support import SIZE, console, login, wait_until

    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await operators.set_active(db, actors.admin, "coordinator", False, "moved to another office")
        await pilot.press("5")  # opening an area reads: the read is refused
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert any("was deactivated" in n.message for n in app._notifications)
