"""Every role against every foundation operation; maker-checker in the schema.

The expected roles are written out here, independently of store/permissions.py, so that a wrong
grant there fails a test. Workflow areas test their own operations the same way.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select

from store.errors import PermissionDenied, RuleViolation
from store.models import BatchApproval, Operator, PaymentBatch, Wave
from store.services import audit_log, operators, settings
from store.uow import read_session, unit_of_work

ROLES = ["admin", "reviewer", "curator", "coordinator", "finance", "approver", "auditor", "tokopedia"]


async def _add_operator(db, actor, role):
    await operators.create_operator(db, actor, f"new-{role}", "secret", ["reviewer"])


async def _deactivate(db, actor, role):
    await operators.set_active(db, actor, "approver2", False)


async def _list_operators(db, actor, role):
    await operators.list_operators(db, actor)


async def _change_setting(db, actor, role):
    await settings.change(db, actor, "obligations.due_days", 11)


async def _read_audit(db, actor, role):
    await audit_log.list_events(db, actor)


async def _verify_audit(db, actor, role):
    await audit_log.verify(db, actor)


async def _export_audit(db, actor, role):
    async for _chunk in audit_log.export(db, actor, "csv"):
        pass


OFFICE_BUT_PLATFORM = set(ROLES) - {"tokopedia"}
OPERATIONS = {
    _add_operator: {"admin"},
    _deactivate: {"admin"},
    _list_operators: {"admin", "auditor"},
    _change_setting: {"admin"},
    _read_audit: OFFICE_BUT_PLATFORM,
    _verify_audit: {"admin", "auditor"},
    _export_audit: {"admin", "auditor"},
}


@pytest.mark.parametrize("operation", list(OPERATIONS), ids=lambda f: f.__name__.strip("_"))
async def test_each_role_is_allowed_or_denied(db, actors, operation):
    for role in ROLES:
        allowed = role in OPERATIONS[operation]
        try:
            await operation(db, actors[role], role)
        except PermissionDenied:
            assert not allowed, f"{role} should be allowed to {operation.__name__}"
        else:
            assert allowed, f"{role} should be denied {operation.__name__}"


async def test_the_database_refuses_an_approval_by_the_preparer(db, actors):
    finance = actors.finance.operator_id
    async with unit_of_work(db, actors.admin) as uow:
        wave = Wave(
            number=99, year=2026, training_balance_idr=3_500_000, incentive_idr=600_000, incentive_count=1,
            survey_idr=50_000, survey_count=2, quota=10, registration_opens=dt.date(2026, 1, 1),
            registration_closes=dt.date(2026, 1, 5), starts_on=dt.date(2026, 1, 6), purchase_deadline_days=15,
            budget_idr=10_000_000,
        )
        uow.session.add(wave)
        await uow.session.flush()
        batch = PaymentBatch(kind="incentive", wave_id=wave.id, payer="Bank X", prepared_by=finance)
        uow.session.add(batch)
        await uow.session.flush()
        batch_id = batch.id
    # Straight SQL, past every service: the CHECK constraint still refuses it.
    with pytest.raises(RuleViolation):
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(
                insert(BatchApproval).values(batch_id=batch_id, prepared_by=finance, approver_id=finance)
            )
    # Lying about who prepared it is caught by the composite foreign key.
    with pytest.raises(RuleViolation):
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(
                insert(BatchApproval).values(
                    batch_id=batch_id, prepared_by=actors.approver.operator_id, approver_id=finance
                )
            )
    async with read_session(db) as session:
        assert (await session.execute(select(BatchApproval))).first() is None
        assert (await session.execute(select(Operator).where(Operator.id == finance))).scalar_one()
