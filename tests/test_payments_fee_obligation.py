"""The platform's obligation "disburse training fees to providers", checked against the nets it owes:
the PMO pays the platform the gross fee; the platform owes the provider the fee less its commission.
The check is the store's (obligations.fee_disbursement_check), shown on the platform's screen and by
`mitra platforms fee-check`."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable, Input, Static

from screens.platforms_detail import PlatformScreen, SubmissionPrompt
from store.errors import InvalidInput, PermissionDenied
from store.models import ObligationKind
from store.services import obligations
from store.services.payments import batches, browse, files
from store.services.payments.payables import CandidateFilter, Scope
from tests.payments_support import PaymentWorld, pay_in_full
from tests.tui_support import SIZE, console, login, settle, wait_until
from tests.cli_support import amitra

# Results are dated by the UTC day they were recorded.
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
async def world(db):
    return PaymentWorld(db)


async def _fees_paid(db, actors, world, tmp_path):
    """Batch 7 of the issue: Tokopedia is paid Rp1,300,000 of fees; it owes Rp1,114,000 on to two
    providers. A third fee fails (not owed), Bukalapak's fee and an incentive are not Tokopedia's."""
    cakap = await world.provider("LP Cakap Digital")
    kelas = await world.provider("LP Kelas Kita", npwp="0123456789012346")
    barista = await world.listing(cakap, "tokopedia", price_idr=1_000_000, commission_bp=1500)
    excel = await world.listing(kelas, "tokopedia", price_idr=300_000, commission_bp=1200, title="Excel")
    elsewhere = await world.listing(cakap, "bukalapak", price_idr=700_000, commission_bp=1000, title="Kopi")
    wave = await world.wave(1)
    await world.trainee(wave, barista)
    await world.trainee(wave, excel)
    await world.trainee(wave, elsewhere)
    await world.trainee(wave, barista, account=False)  # its fee will fail
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1]])
    failing = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"), CandidateFilter(limit=3))
    await batches.submit_batch(db, actors.finance, failing.id)
    await batches.approve_batch(db, actors.approver, failing.id)
    await files.export_disbursement(db, actors.finance, failing.id, tmp_path / "fees.csv")
    page = (await browse.batch_lines(db, actors.finance, failing.id)).rows
    results = [(line.id, line.amount_idr, "paid", f"TRX-{line.id}", "") for line in page[:2]]
    results.append((page[2].id, page[2].amount_idr, "failed", "", "Timeout at the bank"))
    await files.reconcile(db, actors.finance, failing.id, files.results_text(results))
    other = await batches.prepare_batch(db, actors.finance, Scope.fees("bukalapak"))
    await pay_in_full(db, actors.finance, [actors.approver], other.id, tmp_path)
    incentives = await batches.prepare_batch(db, actors.finance, Scope.incentives(1, "BNI"))
    await pay_in_full(db, actors.finance, [actors.approver], incentives.id, tmp_path)
    await obligations.roll_forward(db, actors.admin, TODAY, start=TODAY.replace(day=1))


async def _fee_item(db, actor, platform_id):
    cal = await obligations.calendar(db, actor, platform_id, periods=1, today=TODAY)
    return next(item for item in cal.items if item.kind == ObligationKind.DISBURSE_FEES)


async def test_the_report_is_checked_against_the_nets_owed(db, actors, world, tmp_path):
    await _fees_paid(db, actors, world, tmp_path)
    tokopedia = await world.platform_id("tokopedia")
    check = await obligations.fee_disbursement_check(db, actors.tokopedia, tokopedia, TODAY)
    assert (check.period_start, check.lines, check.gross_idr, check.commission_idr, check.owed_idr) == (
        TODAY.replace(day=1), 2, 1_300_000, 186_000, 1_114_000
    )
    assert [(p.provider, p.lines, p.net_idr) for p in check.by_provider] == [
        ("LP Cakap Digital", 1, 850_000), ("LP Kelas Kita", 1, 264_000)
    ]
    assert (check.reported_idr, check.difference_idr, check.agrees) == (None, None, False)

    item = await _fee_item(db, actors.tokopedia, tokopedia)
    assert check.item_id == item.id
    with pytest.raises(InvalidInput) as missing:
        await obligations.record_submission(db, actors.tokopedia, item.id, TODAY, "TKP/FEES", expected_version=item.version,
                                            today=TODAY)
    assert missing.value.key == "obligation.amount_required"
    recorded = await obligations.record_submission(
        db, actors.tokopedia, item.id, TODAY, "TKP/FEES", expected_version=item.version, reported_idr="1.000.000",
        today=TODAY,
    )
    assert recorded.reported_idr == 1_000_000
    check = await obligations.fee_disbursement_check(db, actors.reviewer, tokopedia, TODAY)
    assert (check.reported_idr, check.difference_idr, check.agrees) == (1_000_000, -114_000, False)

    # Another platform's check counts only its own fees; other reports state no amount.
    bukalapak = await world.platform_id("bukalapak")
    assert (await obligations.fee_disbursement_check(db, actors.admin, bukalapak, TODAY)).owed_idr == 630_000
    with pytest.raises(PermissionDenied) as foreign:
        await obligations.fee_disbursement_check(db, actors.tokopedia, bukalapak, TODAY)
    assert foreign.value.key == "permission.other_platform"
    cal = await obligations.calendar(db, actors.bukalapak, bukalapak, periods=1, today=TODAY)
    progress = next(i for i in cal.items if i.kind == ObligationKind.REPORT_PROGRESS)
    with pytest.raises(InvalidInput) as not_here:
        await obligations.record_submission(db, actors.bukalapak, progress.id, TODAY, "BL", expected_version=progress.version,
                                            reported_idr=5, today=TODAY)
    assert not_here.value.key == "obligation.amount_not_reported"


async def test_the_cli_prints_the_check(db, db_url, actors, world, tmp_path):
    await _fees_paid(db, actors, world, tmp_path)
    tokopedia = await world.platform_id("tokopedia")
    item = await _fee_item(db, actors.tokopedia, tokopedia)
    await obligations.record_submission(db, actors.tokopedia, item.id, TODAY, "TKP/FEES", expected_version=item.version,
                                        reported_idr=1_114_000, today=TODAY)
    result = await amitra("platforms", "fee-check", "tokopedia", "--period", TODAY.strftime("%Y-%m"), "--db", db_url,
                          "--operator", "auditor", "--lang", "en")
    assert result.returncode == 0, result.output
    assert ("paid to the platform Rp1,300,000 for 2 fee lines; its commission Rp186,000; owed on to providers (net)"
            " Rp1,114,000. Reported Rp1,114,000: it agrees.") in result.output
    assert "LP Kelas Kita" in result.output


async def test_the_platform_screen_shows_the_check_and_records_the_amount(db, actors, world, tmp_path):
    await _fees_paid(db, actors, world, tmp_path)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "tokopedia")
        await pilot.press("3")
        table = app.screen.query_one("#platforms-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PlatformScreen) and app.screen.calendar is not None)
        screen = app.screen
        calendar = screen.query_one("#calendar", DataTable)
        calendar.move_cursor(row=list(ObligationKind).index(ObligationKind.DISBURSE_FEES), column=1)
        detail = screen.query_one("#obligation-detail", Static)
        await wait_until(pilot, lambda: "owed on to providers (net) Rp1,114,000" in str(detail.render()))
        assert "No amount reported yet." in str(detail.render())
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SubmissionPrompt))
        prompt = app.screen
        prompt.query_one("#submission-reference", Input).value = "TKP/FEES/05"
        prompt.query_one("#submission-amount", Input).value = "1.000.000"
        prompt.query_one("#submission-amount", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "LESS than the nets owed" in str(detail.render()))
        text = str(detail.render())
        assert "Reported Rp1,000,000: Rp114,000 LESS than the nets owed." in text
        assert "Amount reported as passed on to providers: Rp1,000,000" in text
        await settle(pilot)
