"""Payout accounts: same-NIK registration, import with line numbers, copies on lines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.errors import PermissionDenied, RuleViolation
from store.models import AuditEvent, PaymentLine, PayoutAccount
from store.services.payments import accounts, batches, files
from store.services.payments.payables import Scope
from tests.payments_support import PaymentWorld


@pytest.fixture
async def world(db):
    return PaymentWorld(db)


async def _accounts(db):
    async with db.engine.connect() as connection:
        rows = await connection.execute(select(PayoutAccount.__table__).order_by(PayoutAccount.id))
        return [dict(row._mapping) for row in rows]


async def test_import_registers_accounts_and_reports_bad_rows_by_line(db, actors, world):
    wave = await world.wave(1)
    first_id, first_nik = await world.participant(wave)
    second_id, second_nik = await world.participant(wave)
    text = (
        "nik,channel,institution,account_number,holder_name,holder_nik,verified\n"
        f"{first_nik},bank,bni,0123-456-789,Peserta Satu,{first_nik},yes\n"  # line 2: good
        f"{second_nik},ewallet,GoPay,081234567890,Peserta Dua,{first_nik},no\n"  # line 3: someone else's NIK
        f"{second_nik},pigeon,BNI,0123456789,Peserta Dua,{second_nik},no\n"  # line 4: no such channel
        f"3201011505900001,bank,BNI,0123456789,Orang Lain,3201011505900001,no\n"  # line 5: no such participant
        f"32010115059,bank,BNI,0123456789,Salah,32010115059,no\n"  # line 6: malformed NIK
        f"{second_nik},ewallet,GoPay,081234567890,Peserta Dua,{second_nik},maybe\n"  # line 7: yes or no?
    )
    with pytest.raises(PermissionDenied):
        await accounts.import_participant_accounts(db, actors.approver, text)
    report = await accounts.import_participant_accounts(db, actors.finance, text)
    assert (report.read, report.imported) == (6, 1)
    assert [(error.line, error.column, error.key) for error in report.errors] == [
        (3, "holder_nik", "payout.nik_mismatch"),
        (4, "channel", "payout.channel"),
        (5, "nik", "payout.participant_not_found"),
        (6, "nik", "input.nik.length"),
        (7, "verified", "payout.verified"),
    ]
    (stored,) = await _accounts(db)
    assert (stored["participant_id"], stored["institution"], stored["account_number"], stored["verified"]) == (
        first_id, "BNI", "0123456789", True
    )
    assert stored["verified_by"] == actors.finance.operator_id
    async with db.engine.connect() as connection:
        action = (await connection.execute(select(AuditEvent.action).where(AuditEvent.entity == "payout_account"))).scalar_one()
    assert action == "payout_account.imported"
    assert second_id


async def test_a_changed_account_never_redirects_a_line_already_made(db, actors, world, tmp_path):
    provider = await world.provider()
    listing = await world.listing(provider, "tokopedia")
    wave = await world.wave(1)
    trainee = await world.trainee(wave, listing)
    batch = await batches.prepare_batch(db, actors.finance, Scope.incentives(1, "BNI"))
    # The participant registers another account: replaced, and unverified until checked.
    await accounts.import_participant_accounts(
        db, actors.coordinator,
        f"nik,channel,institution,account_number,holder_name,holder_nik\n{trainee.nik},bank,BNI,9999999999,X,{trainee.nik}\n",
    )
    (account,) = [row for row in await _accounts(db) if row["owner_kind"] == "participant"]
    assert (account["account_number"], account["verified"], account["version"]) == ("9999999999", False, 2)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "out.csv")
    async with db.engine.connect() as connection:
        number = (await connection.execute(select(PaymentLine.account_number).where(PaymentLine.batch_id == batch.id))).scalar_one()
    assert number == f"{trainee.participant_id:010d}"  # the account as it was when the line was made
    assert f"{trainee.participant_id:010d}" in (tmp_path / "out.csv").read_text()


async def test_provider_accounts_are_held_under_the_providers_npwp_and_verified(db, actors, world):
    provider = await world.provider(npwp="0123456789012345")
    details = accounts.AccountDetails("bank", "bca", "8800112233", "PT Cakap Digital")
    with pytest.raises(RuleViolation) as mismatch:
        await accounts.set_provider_account(db, actors.finance, provider, details, "9999999999999999")
    assert mismatch.value.key == "payout.npwp_mismatch"
    view = await accounts.set_provider_account(db, actors.finance, provider, details, "01.234.567.8-901.234.5")
    assert (view.institution, view.verified, view.holder_npwp) == ("BCA", False, "0123456789012345")
    verified = await accounts.verify_account(db, actors.finance, view.id, expected_version=view.version)
    assert verified.verified
    replaced = await accounts.set_provider_account(
        db, actors.finance, provider, accounts.AccountDetails("bank", "BRI", "7700112233", "PT Cakap Digital"),
        "0123456789012345", expected_version=verified.version,
    )
    assert (replaced.id, replaced.institution, replaced.verified) == (view.id, "BRI", False)
