"""What is payable: training fees after completion with evidence, incentives for the first
completed and reviewed enrollment only, into a same-NIK account, after re-screening."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from store.errors import PermissionDenied, RuleViolation
from store.models import BlacklistEntry, ExclusionEntry, ExclusionList, PaymentLine
from store.services.payments import accounts, batches
from store.services.payments.payables import CandidateFilter, Scope
from tests.payments_support import PaymentWorld, pay_in_full


@pytest.fixture
async def world(db):
    return PaymentWorld(db)


async def _lines(db, batch_id):
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(PaymentLine.__table__).where(PaymentLine.batch_id == batch_id).order_by(PaymentLine.id)
        )
        return [dict(row._mapping) for row in rows]


async def _fee_world(world, **wave):
    provider = await world.provider()
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia", price_idr=1_000_000, commission_bp=1250)
    return await world.wave(1, **wave), listing


async def test_fee_is_payable_only_after_completion_with_evidence(db, actors, world):
    wave, listing = await _fee_world(world)
    done = await world.trainee(wave, listing)
    await world.trainee(wave, listing, completed=False)  # still in training
    flagged = await world.trainee(wave, listing, flagged_fast=True)  # too fast, not cleared
    cleared = await world.trainee(
        wave, listing, flagged_fast=True, flag_cleared_at=dt.datetime(2020, 6, 1, tzinfo=dt.UTC),
        flag_cleared_by=actors.coordinator.operator_id,
    )
    preview = await batches.preview_candidates(db, actors.finance, Scope.fees("tokopedia"))
    assert (preview.count, preview.total_idr, preview.commission_idr) == (2, 2_000_000, 250_000)

    batch = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    lines = await _lines(db, batch.id)
    assert [line["enrollment_id"] for line in lines] == [done.enrollment_id, cleared.enrollment_id]
    assert flagged.enrollment_id not in [line["enrollment_id"] for line in lines]
    first = lines[0]
    assert first["item_key"] == f"fee:{done.enrollment_id}"
    assert (first["amount_idr"], first["commission_idr"], first["net_idr"]) == (1_000_000, 125_000, 875_000)
    assert first["live"] and first["status"] == "pending"
    # The PMO pays the platform: its account is copied onto the line, which also names the provider
    # the platform passes the fee on to (gross 1,000,000 = commission 125,000 + net 875,000).
    assert (first["payee_name"], first["account_institution"], first["account_number"]) == (
        "PT Tokopedia", "MANDIRI", f"77{listing.platform_id:08d}")
    assert first["provider_id"] == listing.provider_id
    assert (batch.line_count, batch.total_idr, batch.commission_idr, batch.state) == (2, 2_000_000, 250_000, "draft")


async def test_fee_needs_the_platforms_verified_account_and_stays_on_its_platform(db, actors, world):
    provider = await world.provider()  # no account of its own: the platform pays it, not the PMO
    listing = await world.listing(provider, "tokopedia", platform_account=False)
    wave = await world.wave(1)
    await world.trainee(wave, listing)
    preview = await batches.preview_candidates(db, actors.finance, Scope.fees("tokopedia"))
    assert (preview.count, preview.payee_missing) == (0, True)
    with pytest.raises(RuleViolation) as refused:
        await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    assert refused.value.key == "payment.platform_account_needed"
    account = await world.platform_account("tokopedia", verified=False)
    assert (await batches.preview_candidates(db, actors.finance, Scope.fees("tokopedia"))).count == 0
    await accounts.verify_account(db, actors.finance, account)
    preview = await batches.preview_candidates(db, actors.finance, Scope.fees("tokopedia"))
    assert (preview.count, preview.payee_missing) == (1, False)

    other = await world.provider(name="LP Lain")
    elsewhere = await world.listing(other, "bukalapak")
    await world.trainee(wave, elsewhere)
    assert (await batches.preview_candidates(db, actors.finance, Scope.fees("tokopedia"))).count == 1
    assert (await batches.preview_candidates(db, actors.finance, Scope.fees("bukalapak"))).count == 1


async def test_incentive_only_for_the_first_completed_and_reviewed_enrollment(db, actors, world):
    wave, listing = await _fee_world(world)
    first = await world.trainee(wave, listing)
    # Its second enrollment earns nothing more.
    await world.enrollment(first.participant_id, listing, sequence=2)
    await world.trainee(wave, listing, review_given=False)  # not reviewed
    await world.trainee(wave, listing, completed=False, review_given=False)  # not completed
    second_only = await world.trainee(wave, listing, completed=False, review_given=False)
    await world.enrollment(second_only.participant_id, listing, sequence=2)  # completes a later course only
    batch = await batches.prepare_batch(db, actors.finance, Scope.incentives(1, "bni"))
    lines = await _lines(db, batch.id)
    assert [(line["participant_id"], line["instalment"], line["amount_idr"]) for line in lines] == [
        (first.participant_id, 1, 600_000)
    ]
    assert lines[0]["item_key"] == f"incentive:{first.participant_id}:1"
    assert lines[0]["enrollment_id"] == first.enrollment_id
    assert batch.payer == "BNI" and batch.wave_number == 1


async def test_incentive_needs_a_verified_account_at_the_payer_under_the_same_nik(db, actors, world):
    wave, listing = await _fee_world(world)
    good = await world.trainee(wave, listing)
    await world.trainee(wave, listing, account=False)  # no account at all
    other_payer = await world.trainee(wave, listing, institution="GOPAY")
    unverified_id, unverified_nik = await world.participant(wave)
    await world.enrollment(unverified_id, listing)
    await world.account(unverified_id, unverified_nik, verified=False)
    foreign_id, _ = await world.participant(wave)
    await world.enrollment(foreign_id, listing)
    await world.account(foreign_id, good.nik[:-4] + "9999")  # someone else's NIK holds the account

    bni = await batches.preview_candidates(db, actors.finance, Scope.incentives(1, "BNI"))
    gopay = await batches.preview_candidates(db, actors.finance, Scope.incentives(1, "GoPay"))
    assert (bni.count, gopay.count) == (1, 1)
    batch = await batches.prepare_batch(db, actors.finance, Scope.incentives(1, "GOPAY"))
    assert [line["participant_id"] for line in await _lines(db, batch.id)] == [other_payer.participant_id]


async def test_incentive_rescreens_revoked_blacklisted_and_excluded(db, actors, world):
    wave, listing = await _fee_world(world)
    keep = await world.trainee(wave, listing)
    await world.revoke((await world.trainee(wave, listing)).participant_id)
    blacklisted = await world.trainee(wave, listing)
    lifted = await world.trainee(wave, listing)
    excluded = await world.trainee(wave, listing)
    await world.insert(BlacklistEntry, nik=blacklisted.nik, reason="no purchase in time", listed_on=dt.date(2020, 6, 1))
    await world.insert(
        BlacklistEntry, nik=lifted.nik, reason="mistake", listed_on=dt.date(2020, 6, 1),
        lifted_at=dt.datetime(2020, 7, 1, tzinfo=dt.UTC), lifted_by=actors.admin.operator_id,
        lift_reason="committee decision 7/2020",
    )
    list_id = await world.insert(ExclusionList, kind="formal_education", source="Kemendikbud", dated=dt.date(2020, 6, 1))
    await world.insert(ExclusionEntry, list_id=list_id, nik=excluded.nik)

    batch = await batches.prepare_batch(db, actors.finance, Scope.incentives(1, "BNI"))
    paid_to = {line["participant_id"] for line in await _lines(db, batch.id)}
    assert paid_to == {keep.participant_id, lifted.participant_id}


async def test_instalments_come_one_at_a_time_up_to_the_waves_count(db, actors, world, tmp_path):
    wave, listing = await _fee_world(world, incentive_count=2)
    trainee = await world.trainee(wave, listing)
    scope = Scope.incentives(1, "BNI")
    first = await batches.prepare_batch(db, actors.finance, scope)
    # While instalment 1 is on a live, unpaid line, instalment 2 waits.
    with pytest.raises(RuleViolation) as nothing:
        await batches.prepare_batch(db, actors.finance, scope)
    assert nothing.value.key == "payment.no_candidates"
    # Paid (reconciled): the next instalment becomes payable, and after the last one nothing more.
    await pay_in_full(db, actors.finance, [actors.approver, actors.approver2], first.id, tmp_path)
    second = await batches.prepare_batch(db, actors.finance, scope)
    assert [line["item_key"] for line in await _lines(db, second.id)] == [f"incentive:{trainee.participant_id}:2"]
    await pay_in_full(db, actors.finance, [actors.approver, actors.approver2], second.id, tmp_path)
    assert (await batches.preview_candidates(db, actors.finance, scope)).count == 0


async def test_filter_narrows_and_is_kept_on_the_batch(db, actors, world):
    wave, listing = await _fee_world(world)
    await world.trainee(wave, listing, participant={"province_code": "31"})
    jabar = [await world.trainee(wave, listing, participant={"province_code": "32"}) for _ in range(3)]
    filters = CandidateFilter(province_code="32", limit=2)
    batch = await batches.prepare_batch(db, actors.finance, Scope.incentives(1, "BNI"), filters)
    lines = await _lines(db, batch.id)
    assert [line["participant_id"] for line in lines] == [t.participant_id for t in jabar[:2]]
    assert {line["province_code"] for line in lines} == {"32"}


async def test_only_finance_prepares(db, actors, world):
    await _fee_world(world)
    with pytest.raises(PermissionDenied):
        await batches.prepare_batch(db, actors.approver, Scope.fees("tokopedia"))
    with pytest.raises(RuleViolation) as nothing:
        await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    assert nothing.value.key == "payment.no_candidates"
