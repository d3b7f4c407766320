"""Operators' SSH public keys: admins add, list and remove them (audited), the fingerprint is the
one `ssh-keygen -lf` prints, a key belongs to one operator, and only an active operator's key
names an operator for the SSH server."""

from __future__ import annotations

import base64
import subprocess

import pytest
from sqlalchemy import select

from store.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from store.models import AuditEvent
from store.services import operator_keys, operators
from store.uow import read_session
from tests.cli_support import mitra


def _new_key(tmp_path, name: str = "id_ed25519", kind: str = "ed25519") -> tuple[str, str]:
    """A real key pair from ssh-keygen: (public key line, fingerprint as ssh-keygen prints it)."""
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"{name}@field", "-f", str(path)], check=True)
    printed = subprocess.run(["ssh-keygen", "-lf", str(path) + ".pub"], check=True, capture_output=True, text=True)
    return (tmp_path / f"{name}.pub").read_text(), printed.stdout.split()[1]


async def test_admin_adds_lists_and_removes_keys_audited(db, actors, tmp_path):
    line, printed = _new_key(tmp_path)
    rsa_line, rsa_printed = _new_key(tmp_path, "id_rsa", "rsa")
    added = await operator_keys.add_key(db, actors.admin, "Coordinator", line)
    assert (added.operator, added.fingerprint, added.algorithm, added.comment) == (
        "coordinator", printed, "ssh-ed25519", "id_ed25519@field")
    await operator_keys.add_key(db, actors.admin, "finance", rsa_line)
    assert [(v.operator, v.fingerprint) for v in await operator_keys.list_keys(db, actors.auditor)] == [
        ("coordinator", printed), ("finance", rsa_printed)]
    assert [v.operator for v in await operator_keys.list_keys(db, actors.admin, "finance")] == ["finance"]
    blob = base64.b64decode(line.split()[1])
    assert await operator_keys.operator_for_key(db, blob) == "coordinator"
    removed = await operator_keys.remove_key(db, actors.admin, "coordinator", printed)
    assert removed.fingerprint == printed
    assert await operator_keys.operator_for_key(db, blob) is None
    async with read_session(db) as session:
        events = (await session.execute(
            select(AuditEvent.action, AuditEvent.operator_id).where(AuditEvent.action.like("operator_key.%"))
            .order_by(AuditEvent.id))).all()
    assert [action for action, _ in events] == ["operator_key.added", "operator_key.added", "operator_key.removed"]
    assert {actor for _, actor in events} == {actors.admin.operator_id}


async def test_only_admins_change_keys_and_bad_input_is_refused(db, actors, tmp_path):
    line, printed = _new_key(tmp_path)
    with pytest.raises(PermissionDenied):
        await operator_keys.add_key(db, actors.auditor, "coordinator", line)
    with pytest.raises(PermissionDenied):
        await operator_keys.list_keys(db, actors.coordinator)
    for bad in ("", "not a key", "ssh-ed25519 !!!", line + line,
                "ssh-rsa " + line.split()[1],  # the blob says ed25519
                "ssh-dss AAAAB3NzaC1kc3MAAACBAP"):
        with pytest.raises(InvalidInput):
            await operator_keys.add_key(db, actors.admin, "coordinator", bad)
    with pytest.raises(NotFound):
        await operator_keys.add_key(db, actors.admin, "nobody", line)
    await operator_keys.add_key(db, actors.admin, "coordinator", line)
    with pytest.raises(Conflict) as taken:
        await operator_keys.add_key(db, actors.admin, "finance", line)
    assert taken.value.params["username"] == "coordinator"
    with pytest.raises(NotFound):
        await operator_keys.remove_key(db, actors.admin, "finance", printed)
    assert len(await operator_keys.list_keys(db, actors.admin)) == 1


async def test_a_deactivated_operators_key_names_nobody(db, actors, tmp_path):
    line, _ = _new_key(tmp_path)
    await operator_keys.add_key(db, actors.admin, "reviewer", line)
    blob = base64.b64decode(line.split()[1])
    await operators.set_active(db, actors.admin, "reviewer", False, "left")
    assert await operator_keys.operator_for_key(db, blob) is None
    await operators.set_active(db, actors.admin, "reviewer", True)
    assert await operator_keys.operator_for_key(db, blob) == "reviewer"


async def test_a_certificate_login_needs_an_active_operator_and_a_key_login_a_registered_key(db, actors):
    """`mitra serve ssh --trusted-ca`: the certificate's principal names the operator, who must exist
    and be active; a key login still needs the key on record for that operator."""
    assert await operator_keys.active_operator(db, " Reviewer ") == "reviewer"
    assert await operator_keys.active_operator(db, "nobody") is None
    actor = await operators.login_by_key(db, "reviewer", "ca:SHA256:office", "10.0.0.7", "certificate")
    assert actor.username == "reviewer" and dict(actor.via)["ssh_key"] == "ca:SHA256:office"
    with pytest.raises(AuthenticationFailed):  # no such key recorded for reviewer
        await operators.login_by_key(db, "reviewer", "ca:SHA256:office", "10.0.0.7")
    await operators.set_active(db, actors.admin, "reviewer", False, "left")
    assert await operator_keys.active_operator(db, "reviewer") is None
    with pytest.raises(AuthenticationFailed):
        await operators.login_by_key(db, "reviewer", "ca:SHA256:office", "10.0.0.7", "certificate")


async def test_keys_from_the_command_line(db, db_url, tmp_path):
    line, printed = _new_key(tmp_path)
    as_admin = ("--db", db_url, "--operator", "admin")
    added = mitra("operators", "keys", "add", "reviewer", "-", *as_admin, stdin=line)
    assert added.returncode == 0, added.stderr
    assert printed in added.stdout
    listed = mitra("operators", "keys", "list", *as_admin)
    assert listed.stdout.split()[:2] == ["reviewer", printed]
    bad = mitra("operators", "keys", "add", "reviewer", str(tmp_path / "id_ed25519"), *as_admin)  # the private key
    assert bad.returncode != 0 and "OpenSSH public key" in bad.stderr + bad.stdout
    removed = mitra("operators", "keys", "remove", "reviewer", printed, *as_admin)
    assert removed.returncode == 0 and printed in removed.stdout
    assert "No SSH keys." in mitra("operators", "keys", "list", "reviewer", *as_admin).stdout


async def test_an_admin_adds_and_removes_a_key_in_the_console(db, actors, tmp_path):
    from textual.widgets import DataTable, Input

    from screens.operators import SessionsScreen
    from screens.participants_forms import FormScreen
    from tests.tui_support import SIZE, console, login, row_cells, settle, wait_until

    line, printed = _new_key(tmp_path)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "admin")
        await pilot.press("7")  # the Audit area
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.operators)
        screen = app.screen
        people = screen.query_one("#operators", DataTable)
        people.focus()
        people.move_cursor(row=[i for i in range(people.row_count) if row_cells(people, i)[0] == "coordinator"][0])
        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one(Input).value = "not a key"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)  # refused, stays in the form with what was typed
        app.screen.query_one(Input).value = line.strip()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen and screen.keys)
        keys = screen.query_one("#keys", DataTable)
        await wait_until(pilot, lambda: keys.row_count == 1)
        assert row_cells(keys, 0)[:2] == ["coordinator", printed]
        keys.focus()
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen and not screen.keys)
    assert await operator_keys.list_keys(db, actors.admin) == []


async def test_an_auditor_sees_keys_but_cannot_add_them(db, actors, tmp_path):
    from screens.operators import SessionsScreen
    from screens.participants_forms import FormScreen
    from tests.tui_support import SIZE, console, login, settle, wait_until

    await operator_keys.add_key(db, actors.admin, "finance", _new_key(tmp_path)[0])
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "auditor")
        await pilot.press("7")
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.keys)
        await pilot.press("k")
        await settle(pilot)
        assert not isinstance(app.screen, FormScreen)
