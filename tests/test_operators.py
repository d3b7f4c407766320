"""Operators: the first admin, who may add operators, roles and platform scope, logins audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from store.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from store.models import AuditEvent, Operator, OperatorRole
from store.services import operators
from store.uow import read_session


async def _events(db, action: str) -> list[AuditEvent]:
    async with read_session(db) as session:
        return list((await session.execute(select(AuditEvent).where(AuditEvent.action == action))).scalars())


async def test_first_operator_needs_no_login_but_must_be_an_admin(empty_db):
    with pytest.raises(RuleViolation) as refused:
        await operators.create_operator(empty_db, None, "rina", "secret", ["reviewer"])
    assert refused.value.key == "operator.first_must_be_admin"
    view = await operators.create_operator(empty_db, None, "Andi", "secret", ["admin"])
    assert view.username == "andi" and view.roles == ("admin",)
    # After the first, adding operators needs an admin.
    with pytest.raises(PermissionDenied):
        await operators.create_operator(empty_db, None, "rina", "secret", ["reviewer"])


async def test_only_admins_add_operators(db, actors):
    with pytest.raises(PermissionDenied):
        await operators.create_operator(db, actors.reviewer, "x", "secret", ["reviewer"])
    view = await operators.create_operator(db, actors.admin, "siti", "secret", ["reviewer", "curator"])
    assert view.roles == ("curator", "reviewer")
    async with read_session(db) as session:
        roles = set((await session.execute(select(OperatorRole.role).join(Operator).where(Operator.username == "siti"))).scalars())
    assert roles == {"reviewer", "curator"}
    [event] = [e for e in await _events(db, "operator.created") if '"siti"' in e.changes]
    assert event.operator_name == "admin"
    assert json.loads(event.changes)["after"]["roles"] == ["curator", "reviewer"]


async def test_duplicate_and_malformed_operators_are_refused(db, actors):
    with pytest.raises(Conflict):
        await operators.create_operator(db, actors.admin, "Reviewer", "secret", ["reviewer"])
    with pytest.raises(InvalidInput) as bad_role:
        await operators.create_operator(db, actors.admin, "new", "secret", ["boss"])
    assert bad_role.value.key == "input.role"
    with pytest.raises(InvalidInput) as short:
        await operators.create_operator(db, actors.admin, "new", "ab", ["reviewer"])
    assert short.value.key == "input.password_short"


async def test_platform_staff_are_scoped_to_one_platform_and_hold_no_office_role(db, actors):
    with pytest.raises(RuleViolation):
        await operators.create_operator(db, actors.admin, "p1", "secret", ["platform"])
    with pytest.raises(RuleViolation):
        await operators.create_operator(db, actors.admin, "p2", "secret", ["platform", "finance"], platform_code="tokopedia")
    with pytest.raises(RuleViolation):
        await operators.create_operator(db, actors.admin, "p3", "secret", ["finance"], platform_code="tokopedia")
    view = await operators.create_operator(db, actors.admin, "p4", "secret", ["platform"], platform_code="bukalapak")
    assert view.platform_code == "bukalapak"
    assert actors.tokopedia.platform_code == "tokopedia" and actors.tokopedia.is_platform_staff


async def test_login_success_and_failure_are_audited(db):
    actor = await operators.login(db, "Reviewer", "demo")
    assert actor.username == "reviewer" and actor.roles == frozenset({"reviewer"})
    with pytest.raises(AuthenticationFailed) as wrong:
        await operators.login(db, "reviewer", "not-the-password")
    assert wrong.value.key == "auth.failed"
    with pytest.raises(AuthenticationFailed):
        await operators.login(db, "nobody", "demo")
    [ok] = await _events(db, "operator.login")
    assert ok.operator_name == "reviewer"
    failures = await _events(db, "operator.login_failed")
    assert [event.operator_name for event in failures] == ["reviewer", "nobody"]
    async with read_session(db) as session:
        count = (await session.execute(select(Operator.failed_logins).where(Operator.username == "reviewer"))).scalar_one()
    assert count == 1


async def test_deactivated_operator_cannot_log_in(db, actors):
    await operators.set_active(db, actors.admin, "finance", False, reason="left the office")
    with pytest.raises(AuthenticationFailed) as refused:
        await operators.login(db, "finance", "demo")
    assert refused.value.key == "auth.inactive"
    [event] = await _events(db, "operator.deactivated")
    assert event.reason == "left the office"
    with pytest.raises(RuleViolation):
        await operators.set_active(db, actors.admin, "admin", False)


async def test_passwords_are_stored_hashed(db):
    async with read_session(db) as session:
        stored = (await session.execute(select(Operator.password_hash).where(Operator.username == "admin"))).scalar_one()
    assert stored.startswith("scrypt$") and "demo" not in stored


async def test_loading_several_actors_at_once_gives_each_the_one_loaded_alone(db):
    names = ["admin", "tokopedia", "sisnaker", "approver2"]
    together = await operators.load_actors(db, ["ADMIN", *names[1:]])
    assert together == {name: await operators.load_actor(db, name) for name in names}
    assert together["tokopedia"].platform_code == "tokopedia" and together["admin"].platform_code is None
    with pytest.raises(NotFound):
        await operators.load_actors(db, ["admin", "nobody"])
