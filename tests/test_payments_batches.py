"""Batches: maker-checker, approvals growing with the amount, the wave's budget, rejection and
new versions, cancellation, and "never twice" held by the database itself."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from store.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation
from store.models import AuditEvent, BatchApproval, PaymentBatch, PaymentLine
from store.services.payments import batches
from store.services.payments.payables import CandidateFilter, Scope
from tests.payments_support import PaymentWorld
from tui.i18n import describe_error

FEES = Scope.fees("tokopedia")
INCENTIVES = Scope.incentives(1, "BNI")


@pytest.fixture
async def world(db):
    return PaymentWorld(db)


async def _trainees(world, count, *, price_idr=1_000_000, **wave):
    provider = await world.provider()
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia", price_idr=price_idr)
    wave_id = await world.wave(1, **wave)
    return [await world.trainee(wave_id, listing) for _ in range(count)]


async def _events(db, batch_id):
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(AuditEvent.action, AuditEvent.operator_name, AuditEvent.changes, AuditEvent.reason)
            .where(AuditEvent.entity == "payment_batch", AuditEvent.entity_id == str(batch_id))
            .order_by(AuditEvent.id)
        )
        return [(row.action, row.operator_name, json.loads(row.changes), row.reason) for row in rows]


async def _live_count(db, batch_id):
    async with db.engine.connect() as connection:
        return (
            await connection.execute(
                select(func.count()).select_from(PaymentLine).where(PaymentLine.batch_id == batch_id, PaymentLine.live)
            )
        ).scalar_one()


async def test_prepared_by_one_approved_by_another(db, actors, world):
    await _trainees(world, 3)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    submitted = await batches.submit_batch(db, actors.finance, batch.id, batch.version)
    assert (submitted.state, submitted.approvals_needed, submitted.approvals_given) == ("submitted", 1, 0)
    result = await batches.approve_batch(db, actors.approver, batch.id, submitted.version)
    assert result.final and result.approval == 1
    assert (result.batch.state, result.batch.approvals_given) == ("approved", 1)
    events = await _events(db, batch.id)
    assert [(action, who) for action, who, _, _ in events] == [
        ("payment_batch.prepared", "finance"), ("payment_batch.submitted", "finance"),
        ("payment_batch.approved", "approver"),
    ]
    # Every step carries the amounts.
    assert all(changes["details"]["total_idr"] == 3_000_000 for _, _, changes, _ in events)


async def test_the_preparer_never_approves_not_even_with_the_approver_role(db, actors, world):
    from store.models import OperatorRole
    from store.services import operators

    await _trainees(world, 1)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    await batches.submit_batch(db, actors.finance, batch.id)
    with pytest.raises(PermissionDenied):
        await batches.approve_batch(db, actors.finance, batch.id)
    # The finance operator is given the approver role too (as an administrator might).
    async with db.write_engine.begin() as connection:
        await connection.execute(
            OperatorRole.__table__.insert().values(operator_id=actors.finance.operator_id, role="approver")
        )
    both_roles = await operators.load_actor(db, "finance")
    assert {"finance", "approver"} <= both_roles.roles
    with pytest.raises(RuleViolation) as refused:
        await batches.approve_batch(db, both_roles, batch.id)
    assert refused.value.key == "payment.preparer_cannot_approve"
    with pytest.raises(RuleViolation) as refused:
        await batches.reject_batch(db, both_roles, batch.id, "looks wrong")
    assert refused.value.key == "payment.preparer_cannot_reject"


async def test_maker_checker_is_in_the_schema(db, actors, world):
    await _trainees(world, 1)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    await batches.submit_batch(db, actors.finance, batch.id)
    finance = actors.finance.operator_id
    with pytest.raises(IntegrityError) as refused:
        async with db.write_engine.begin() as connection:
            await connection.execute(
                BatchApproval.__table__.insert().values(batch_id=batch.id, prepared_by=finance, approver_id=finance)
            )
    assert "approver_not_preparer" in str(refused.value)
    # Claiming another preparer does not help: the composite foreign key proves who prepared it.
    with pytest.raises(IntegrityError):
        async with db.write_engine.begin() as connection:
            await connection.execute(
                BatchApproval.__table__.insert().values(
                    batch_id=batch.id, prepared_by=actors.approver.operator_id, approver_id=finance
                )
            )


async def test_large_batches_need_two_distinct_approvers(db, actors, world):
    # Rp1.200.000.000 in all: the wave's balance covers the course (the database caps each person's courses at it)
    await _trainees(world, 2, price_idr=600_000_000, training_balance_idr=600_000_000)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    batch = await batches.submit_batch(db, actors.finance, batch.id)
    assert (batch.total_idr, batch.approvals_needed) == (1_200_000_000, 2)
    first = await batches.approve_batch(db, actors.approver, batch.id)
    assert (first.approval, first.final, first.batch.state) == (1, False, "submitted")
    with pytest.raises(RuleViolation) as again:
        await batches.approve_batch(db, actors.approver, batch.id)
    assert again.value.key == "payment.already_approved"
    final = await batches.approve_batch(db, actors.approver2, batch.id)
    assert (final.approval, final.final, final.batch.state, final.batch.approvals_given) == (2, True, "approved", 2)
    actions = [action for action, *_ in await _events(db, batch.id)]
    assert actions[-2:] == ["payment_batch.approval_given", "payment_batch.approved"]


async def test_admins_change_the_thresholds(db, actors, world):
    with pytest.raises(PermissionDenied):
        await batches.set_approval_thresholds(db, actors.finance, [[0, 1], [100, 2]])
    with pytest.raises(InvalidInput):
        await batches.set_approval_thresholds(db, actors.admin, [[0, 2], [5_000_000, 1]])  # fewer for more
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1], [2_000_000, 2], [5_000_000, 3]])
    assert batches.approvals_for(1_999_999, [[0, 1], [2_000_000, 2]]) == 1
    await _trainees(world, 3)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    assert (await batches.submit_batch(db, actors.finance, batch.id)).approvals_needed == 2
    async with db.engine.connect() as connection:
        actions = (await connection.execute(select(AuditEvent.action).where(AuditEvent.entity == "setting"))).scalars().all()
    assert actions == ["setting.changed"]


async def test_approval_is_refused_when_the_wave_budget_does_not_cover_it(db, actors, world):
    await _trainees(world, 4, budget_idr=2_000_000)
    first = await batches.prepare_batch(db, actors.finance, INCENTIVES, CandidateFilter(limit=2))
    second = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    for batch in (first, second):
        await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, first.id)  # Rp1.200.000 of Rp2.000.000
    with pytest.raises(RuleViolation) as refused:
        await batches.approve_batch(db, actors.approver, second.id)
    error = refused.value
    assert error.key == "payment.over_budget"
    assert (error.params["budget_idr"], error.params["committed_idr"], error.params["batch_idr"], error.params["short_idr"]) == (
        2_000_000, 1_200_000, 1_200_000, 400_000
    )
    assert "Rp2,000,000" in describe_error(error) and "Rp400,000" in describe_error(error)
    async with db.engine.connect() as connection:
        state = (await connection.execute(select(PaymentBatch.state).where(PaymentBatch.id == second.id))).scalar_one()
        approvals = (await connection.execute(select(func.count()).select_from(BatchApproval).where(BatchApproval.batch_id == second.id))).scalar_one()
    assert (state, approvals) == ("submitted", 0)


async def test_rejection_freezes_the_batch_and_a_new_version_takes_its_items_again(db, actors, world):
    trainees = await _trainees(world, 2)
    batch = await batches.prepare_batch(db, actors.finance, FEES, CandidateFilter(province_code="32"))
    await batches.submit_batch(db, actors.finance, batch.id)
    with pytest.raises(InvalidInput) as no_reason:
        await batches.reject_batch(db, actors.approver, batch.id, "   ")
    assert no_reason.value.key == "payment.reason_required"
    rejected = await batches.reject_batch(db, actors.approver, batch.id, "Wrong provider account")
    assert rejected.state == "rejected"
    assert await _live_count(db, batch.id) == 0  # released back to the candidates
    # Frozen: no transition applies any more.
    for attempt in (
        batches.submit_batch(db, actors.finance, batch.id),
        batches.approve_batch(db, actors.approver2, batch.id),
        batches.cancel_batch(db, actors.finance, batch.id, "tidy up"),
    ):
        with pytest.raises(RuleViolation):
            await attempt
    version = await batches.new_version(db, actors.finance, batch.id)
    assert (version.state, version.batch_version, version.previous_batch_id) == ("draft", 2, batch.id)
    assert version.line_count == len(trainees) and version.total_idr == rejected.total_idr
    with pytest.raises(RuleViolation) as twice:
        await batches.new_version(db, actors.finance, batch.id)
    assert twice.value.key == "payment.version_exists"
    async with db.engine.connect() as connection:
        reason, filters = (
            await connection.execute(select(PaymentBatch.reject_reason, PaymentBatch.filters).where(PaymentBatch.id == batch.id))
        ).one()
        new_filters = (await connection.execute(select(PaymentBatch.filters).where(PaymentBatch.id == version.id))).scalar_one()
    assert reason == "Wrong provider account" and new_filters == filters == '{"province_code": "32"}'
    events = await _events(db, batch.id)
    assert events[-1][0] == "payment_batch.rejected" and events[-1][3] == "Wrong provider account"


async def test_cancelling_releases_the_items(db, actors, world):
    await _trainees(world, 2)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    cancelled = await batches.cancel_batch(db, actors.finance, batch.id, "Prepared for the wrong month")
    assert cancelled.state == "cancelled"
    again = await batches.prepare_batch(db, actors.finance, FEES)
    assert again.line_count == 2


async def test_a_stale_version_is_a_conflict(db, actors, world):
    await _trainees(world, 1)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    await batches.submit_batch(db, actors.finance, batch.id, batch.version)
    with pytest.raises(Conflict):
        await batches.approve_batch(db, actors.approver, batch.id, batch.version)


async def test_never_twice_is_a_unique_constraint_in_the_database(db, actors, world):
    await _trainees(world, 1)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    copy = text(
        "INSERT INTO payment_line (batch_id, item_key, enrollment_id, participant_id, provider_id, instalment,"
        " province_code, amount_idr, commission_idr, net_idr, payee_name, account_channel, account_institution,"
        " account_number, status, live, payer_reference, failure_reason)"
        " SELECT batch_id, item_key, enrollment_id, participant_id, provider_id, instalment, province_code,"
        " amount_idr, commission_idr, net_idr, payee_name, account_channel, account_institution, account_number,"
        " status, :live, payer_reference, failure_reason FROM payment_line WHERE batch_id = :batch"
    )
    with pytest.raises(IntegrityError) as twice:
        async with db.write_engine.begin() as connection:
            await connection.execute(copy, {"batch": batch.id, "live": True})
    assert "item_key" in str(twice.value) or "uq_payment_line_live_item" in str(twice.value)
    # A line that is not live (a released or failed one) may share the item: that is the history.
    async with db.write_engine.begin() as connection:
        await connection.execute(copy, {"batch": batch.id, "live": False})
    # Paid lines stay live, failed lines never are: both are CHECKs too.
    with pytest.raises(IntegrityError):
        async with db.write_engine.begin() as connection:
            await connection.execute(text("UPDATE payment_line SET status = 'failed' WHERE live AND batch_id = :b"), {"b": batch.id})


async def test_the_operator_reads_the_rule_not_sql(db, actors, world):
    """Through a unit of work, the index violation comes back as the never-twice rule."""
    from store.uow import unit_of_work

    await _trainees(world, 1)
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    with pytest.raises(RuleViolation) as twice:
        async with unit_of_work(db, actors.finance) as uow:
            await uow.session.execute(
                text(
                    "INSERT INTO payment_line (batch_id, item_key, enrollment_id, instalment, province_code, amount_idr,"
                    " commission_idr, net_idr, payee_name, account_channel, account_institution, account_number, status,"
                    " live, payer_reference, failure_reason) SELECT batch_id, item_key, enrollment_id, instalment,"
                    " province_code, amount_idr,"
                    " commission_idr, net_idr, payee_name, account_channel, account_institution, account_number,"
                    " status, live, payer_reference, failure_reason FROM payment_line WHERE batch_id = :b"
                ),
                {"b": batch.id},
            )
    assert twice.value.key == "payment.paid_twice"


async def test_platform_staff_see_only_their_own_platforms_fees(db, actors, world):
    from store.services.payments import browse

    await _trainees(world, 2)
    fees = await batches.prepare_batch(db, actors.finance, FEES)
    incentives = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    own = await browse.list_batches(db, actors.tokopedia)
    assert [batch.id for batch in own.rows] == [fees.id]
    assert (await browse.list_batches(db, actors.bukalapak)).rows == []
    assert (await browse.batch_detail(db, actors.tokopedia, fees.id)).batch.total_idr == 2_000_000
    for other in (
        browse.batch_detail(db, actors.bukalapak, fees.id),
        browse.batch_detail(db, actors.tokopedia, incentives.id),
        browse.batch_lines(db, actors.tokopedia, incentives.id),
    ):
        with pytest.raises(PermissionDenied):
            await other
    with pytest.raises(PermissionDenied):
        await batches.submit_batch(db, actors.tokopedia, fees.id)
