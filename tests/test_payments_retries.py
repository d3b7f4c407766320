"""A failed payout is not retried blindly: its item comes back only once the payee's account has
changed, or when an approver records why the same account may be paid again (audited)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from store.models import AuditEvent, PaymentLine, RetryOverride
from store.services.payments import accounts, batches, files, retries
from store.services.payments.payables import Scope
from store.uow import read_session
from tests.payments_support import PaymentWorld

FEES = Scope.fees("tokopedia")


async def _failed_once(db, actors, tmp_path) -> tuple[int, int]:
    """One fee line sent and reported failed ("account closed"); returns (provider id, line id)."""
    world = PaymentWorld(db)
    provider = await world.provider()
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia", price_idr=1_000_000)
    await world.trainee(await world.wave(1), listing)
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1]])
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "out.csv")
    async with read_session(db) as session:
        line_id = (await session.execute(select(PaymentLine.id).where(PaymentLine.batch_id == batch.id))).scalar_one()
    await files.reconcile(db, actors.finance, batch.id,
                          files.results_text([(line_id, 1_000_000, "failed", "", "Rekening sudah ditutup")]))
    return provider, line_id


async def _candidates(db, actors) -> int:
    return (await batches.preview_candidates(db, actors.finance, FEES)).count


async def test_a_failed_item_waits_until_the_payees_account_changes(db, actors, tmp_path):
    provider, failed_line = await _failed_once(db, actors, tmp_path)
    assert await _candidates(db, actors) == 0  # the same closed account would fail again
    with pytest.raises(RuleViolation) as refused:
        await batches.prepare_batch(db, actors.finance, FEES)
    assert refused.value.key == "payment.no_candidates"

    changed = await accounts.set_provider_account(
        db, actors.finance, provider,
        accounts.AccountDetails("bank", "BRI", "0022334455", f"PT Penyedia {provider}"), "0123456789012345",
    )
    assert await _candidates(db, actors) == 0  # a new account is paid only once verified
    await accounts.verify_account(db, actors.coordinator, changed.id)
    assert await _candidates(db, actors) == 1
    retry = await batches.prepare_batch(db, actors.finance, FEES)
    async with read_session(db) as session:
        line = (await session.execute(select(PaymentLine).where(PaymentLine.batch_id == retry.id))).scalar_one()
    assert (line.account_institution, line.account_number, line.retry_of_line_id) == ("BRI", "0022334455", failed_line)


async def test_an_approver_may_allow_the_same_account_again_with_a_reason(db, actors, tmp_path):
    _, failed_line = await _failed_once(db, actors, tmp_path)
    with pytest.raises(PermissionDenied):
        await retries.allow_retry(db, actors.finance, failed_line, "try again")
    with pytest.raises(InvalidInput):
        await retries.allow_retry(db, actors.approver, failed_line, "   ")
    allowed = await retries.allow_retry(db, actors.approver, failed_line, "Bank confirms the account was reopened")
    assert allowed.line_id == failed_line
    assert await _candidates(db, actors) == 1
    with pytest.raises(RuleViolation) as again:
        await retries.allow_retry(db, actors.approver, failed_line, "twice")
    assert again.value.key == "payment.retry_already_allowed"
    async with read_session(db) as session:
        event = (await session.execute(
            select(AuditEvent).where(AuditEvent.action == "payment_line.retry_allowed")
        )).scalar_one()
        overrides = (await session.execute(select(RetryOverride))).scalars().all()
    assert (event.operator_name, event.reason) == ("approver", "Bank confirms the account was reopened")
    assert [o.failed_line_id for o in overrides] == [failed_line]


async def test_other_platforms_staff_cannot_allow_and_an_unknown_line_is_named(db, actors, tmp_path):
    _, failed_line = await _failed_once(db, actors, tmp_path)
    with pytest.raises(PermissionDenied):
        await retries.allow_retry(db, actors.bukalapak, failed_line, "not mine")
    with pytest.raises(NotFound):
        await retries.allow_retry(db, actors.approver, failed_line + 999, "no such")


def test_allow_retry_on_the_command_line(db_url, tmp_path):
    import asyncio

    from store.engine import create_database
    from tests.cli_support import mitra
    from tests.conftest import Actors

    async def setup():
        database = create_database(db_url)
        try:
            return (await _failed_once(database, await Actors(database).load(), tmp_path))[1]
        finally:
            await database.dispose()

    line_id = asyncio.run(setup())
    done = mitra("payments", "allow-retry", str(line_id), "--reason", "Payer timeout, not the account",
                 "--db", db_url, "--operator", "approver", "--lang", "en")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Line {line_id} (PT Penyedia" in done.stdout and "may be paid to the same account again" in done.stdout
