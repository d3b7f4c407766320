"""The database is the backstop: what an insider with a database login tries is refused by the
schema itself, and whatever still slips into a draft is caught by the export's audit check."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from store.errors import RuleViolation
from store.models import PaymentBatch, PaymentLine
from store.services.payments import batches, files
from store.services.payments.payables import Scope
from store.uow import unit_of_work
from tests.payments_support import PaymentWorld, pay_in_full

FEES = Scope.fees("tokopedia")


@pytest.fixture
async def world(db):
    return PaymentWorld(db)


async def _fee_batch(db, actors, world, count=2, price_idr=1_000_000):
    provider = await world.provider()
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia", price_idr=price_idr)
    wave_id = await world.wave(1)
    for _ in range(count):
        await world.trainee(wave_id, listing)
    return await batches.prepare_batch(db, actors.finance, FEES)


async def _raw(db, sql, **params):
    async with db.write_engine.begin() as connection:
        return await connection.execute(text(sql), params)


async def _refused(db, sql, rule, **params):
    """The statement fails in the database, with the rule's own message."""
    with pytest.raises(DBAPIError) as refused:
        await _raw(db, sql, **params)
    assert f"mitra-rule:{rule}" in str(refused.value)


async def _state(db, batch_id):
    async with db.engine.connect() as connection:
        return (await connection.execute(select(PaymentBatch.state).where(PaymentBatch.id == batch_id))).scalar_one()


async def _two_approvals_needed(db, actors):
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1], [1_000_000, 2]])


async def test_a_batch_is_approved_only_with_the_approvals_it_needs(db, actors, world):
    await _two_approvals_needed(db, actors)
    batch = await _fee_batch(db, actors, world)
    await _refused(db, "UPDATE payment_batch SET state = 'approved' WHERE id = :b", "payment.guard.transition", b=batch.id)
    await batches.submit_batch(db, actors.finance, batch.id)
    await _refused(db, "UPDATE payment_batch SET state = 'approved' WHERE id = :b", "payment.guard.approvals", b=batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    await _refused(db, "UPDATE payment_batch SET state = 'approved' WHERE id = :b", "payment.guard.approvals", b=batch.id)
    # Lowering what it needs after submission, or faking an approval, is refused too.
    await _refused(db, "UPDATE payment_batch SET approvals_needed = 1 WHERE id = :b", "payment.guard.frozen", b=batch.id)
    await _refused(db, "DELETE FROM batch_approval WHERE batch_id = :b", "payment.guard.approvals", b=batch.id)
    await _refused(
        db, "UPDATE batch_approval SET approver_id = :other WHERE batch_id = :b", "payment.guard.approvals",
        b=batch.id, other=actors.approver2.operator_id,
    )
    assert await _state(db, batch.id) == "submitted"
    assert (await batches.approve_batch(db, actors.approver2, batch.id)).final


async def test_submitting_with_fewer_approvals_than_the_thresholds_ask_is_refused(db, actors, world):
    await _two_approvals_needed(db, actors)
    batch = await _fee_batch(db, actors, world)
    await _refused(
        db, "UPDATE payment_batch SET state = 'submitted', approvals_needed = 1, version = version + 1 WHERE id = :b",
        "payment.guard.approvals", b=batch.id,
    )
    assert await _state(db, batch.id) == "draft"


async def test_a_batch_never_moves_backwards_nor_disappears(db, actors, world, tmp_path):
    batch = await _fee_batch(db, actors, world)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "out.csv")
    for state in ("draft", "submitted", "approved"):
        await _refused(db, "UPDATE payment_batch SET state = :s WHERE id = :b", "payment.guard.transition", b=batch.id, s=state)
    await _refused(db, "DELETE FROM payment_line WHERE batch_id = :b", "payment.guard.no_delete", b=batch.id)
    await _refused(db, "DELETE FROM payment_batch WHERE id = :b", "payment.guard.no_delete", b=batch.id)
    assert await _state(db, batch.id) == "sent"


async def test_lines_and_totals_are_frozen_once_submitted(db, actors, world):
    batch = await _fee_batch(db, actors, world)
    await batches.submit_batch(db, actors.finance, batch.id)
    # Multiplying amounts and adjusting the total to match.
    await _refused(
        db, "UPDATE payment_line SET amount_idr = amount_idr * 10, net_idr = net_idr * 10 + commission_idr * 9"
        " WHERE batch_id = :b", "payment.guard.frozen", b=batch.id,
    )
    await _refused(db, "UPDATE payment_batch SET total_idr = total_idr * 10 WHERE id = :b", "payment.guard.frozen", b=batch.id)
    # Redirecting a payee's account after approval.
    await batches.approve_batch(db, actors.approver, batch.id)
    await _refused(
        db, "UPDATE payment_line SET account_number = '999999999', payee_name = 'Someone Else' WHERE batch_id = :b",
        "payment.guard.frozen", b=batch.id,
    )
    # An extra line slipped into a submitted batch, or a paid result without a payer.
    await _refused(
        db, "INSERT INTO payment_line (batch_id, item_key, enrollment_id, province_code, amount_idr, commission_idr,"
        " net_idr, payee_name, account_channel, account_institution, account_number, status, live, payer_reference,"
        " failure_reason) SELECT batch_id, item_key, enrollment_id, province_code, amount_idr, commission_idr, net_idr,"
        " payee_name, account_channel, account_institution, account_number, status, false, payer_reference,"
        " failure_reason FROM payment_line WHERE batch_id = :b", "payment.guard.frozen", b=batch.id,
    )
    await _refused(db, "UPDATE payment_line SET status = 'paid' WHERE batch_id = :b", "payment.guard.frozen", b=batch.id)


async def test_never_twice_holds_on_the_typed_columns_not_the_spelling(db, actors, world):
    batch = await _fee_batch(db, actors, world, count=1)
    copy = (
        "INSERT INTO payment_line (batch_id, item_key, enrollment_id, instalment, province_code, amount_idr,"
        " commission_idr, net_idr, payee_name, account_channel, account_institution, account_number, status, live,"
        " payer_reference, failure_reason) SELECT batch_id, {key}, enrollment_id, instalment, province_code,"
        " amount_idr, commission_idr, net_idr, payee_name, account_channel, account_institution, account_number,"
        " status, live, payer_reference, failure_reason FROM payment_line WHERE batch_id = :b"
    )
    # "fee:01" for enrollment 1 does not spell its enrollment: refused before any index is asked.
    await _refused(db, copy.format(key=r"replace(item_key, '\:', '\:0')"), "payment.guard.item_key", b=batch.id)
    # Spelled right, the same enrollment twice among live lines breaks the typed unique index.
    with pytest.raises(RuleViolation) as twice:
        async with unit_of_work(db, actors.finance) as uow:
            await uow.session.execute(text(copy.format(key="item_key")), {"b": batch.id})
    assert twice.value.key == "payment.paid_twice"
    async with db.engine.connect() as connection:
        count = (await connection.execute(select(PaymentLine.id).where(PaymentLine.batch_id == batch.id))).all()
    assert len(count) == 1


async def test_submitting_refuses_a_draft_edited_behind_the_services_back(db, actors, world):
    """A draft still takes lines (preparation adds them); its audit trail says which."""
    batch = await _fee_batch(db, actors, world)
    # A line's payee and account are fixed from the moment it is created.
    await _refused(db, "UPDATE payment_line SET account_number = '999999999' WHERE batch_id = :b",
                   "payment.guard.frozen", b=batch.id)
    # What a draft still allows a database login: an extra line and matching totals.
    await _raw(
        db, "INSERT INTO payment_line (batch_id, item_key, enrollment_id, province_code, amount_idr, commission_idr,"
        " net_idr, payee_name, account_channel, account_institution, account_number, status, live, payer_reference,"
        " failure_reason) SELECT batch_id, item_key, enrollment_id, province_code, amount_idr, commission_idr, net_idr,"
        " 'Mallory', account_channel, account_institution, '999999999', status, false, payer_reference, failure_reason"
        " FROM payment_line WHERE batch_id = :b AND id = (SELECT min(id) FROM payment_line WHERE batch_id = :b)",
        b=batch.id,
    )
    await _raw(
        db, "UPDATE payment_batch SET line_count = line_count + 1, total_idr = total_idr + 1000000,"
        " commission_idr = (SELECT sum(commission_idr) FROM payment_line WHERE batch_id = :b) WHERE id = :b",
        b=batch.id,
    )
    with pytest.raises(RuleViolation) as refused:
        await batches.submit_batch(db, actors.finance, batch.id)
    assert refused.value.key == "payment.audit.lines_differ"
    assert await _state(db, batch.id) == "draft"


async def test_the_export_checks_approvals_against_the_audit_trail(db, actors, world, tmp_path):
    batch = await _fee_batch(db, actors, world)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    # An approval row without its audit event (forged by someone who got around the triggers).
    if db.is_sqlite:
        await _raw(db, "DROP TRIGGER batch_approval_guard_insert")
        await _raw(db, "DROP TRIGGER payment_batch_guard_update")
    else:
        await _raw(db, "ALTER TABLE batch_approval DISABLE TRIGGER batch_approval_guard")
        await _raw(db, "ALTER TABLE payment_batch DISABLE TRIGGER payment_batch_guard")
    await _raw(
        db, "INSERT INTO batch_approval (batch_id, prepared_by, approver_id, approved_at)"
        " VALUES (:b, :p, :a, CURRENT_TIMESTAMP)",
        b=batch.id, p=actors.finance.operator_id, a=actors.approver2.operator_id,
    )
    await _raw(db, "UPDATE payment_batch SET approvals_needed = 2 WHERE id = :b", b=batch.id)
    with pytest.raises(RuleViolation) as refused:
        await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "out.csv")
    assert refused.value.key in {"payment.audit.approvals_differ", "payment.audit.totals_differ"}
    assert not (tmp_path / "out.csv").exists()
    assert await _state(db, batch.id) == "approved"


async def test_the_services_still_pay_and_release_through_the_guards(db, actors, world, tmp_path):
    """Rejection releases lines, results mark them paid or failed: the guards allow what the
    services do."""
    batch = await _fee_batch(db, actors, world)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.reject_batch(db, actors.approver, batch.id, "wrong scope")
    again = await batches.new_version(db, actors.finance, batch.id)
    await pay_in_full(db, actors.finance, [actors.approver, actors.approver2], again.id, tmp_path)
    assert await _state(db, again.id) == "reconciled"
