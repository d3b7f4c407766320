"""The Dashboard's payments: batches waiting for *this* approver, and budget used per wave."""

from __future__ import annotations

from screens.payments_budget import WaveBudgets
from store.services import dashboard
from store.services.payments import batches, browse, files
from store.services.payments.payables import CandidateFilter, Scope
from tests.payments_support import PaymentWorld
from tests.tui_support import SIZE, console, login, wait_until

INCENTIVES = Scope.incentives(1, "BNI")


async def _incentives(db, count=6):
    world = PaymentWorld(db)
    provider = await world.provider()
    listing = await world.listing(provider, "tokopedia")
    wave = await world.wave(1, budget_idr=10_000_000)
    for _ in range(count):
        await world.trainee(wave, listing)


async def _queue(db, actor, key):
    return next(queue.count for queue in await dashboard.work_waiting(db, actor) if queue.key == key)


async def test_batches_waiting_for_me_leave_out_what_i_approved(db, actors):
    await _incentives(db)
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1], [1_000_000, 2]])
    batch = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    await batches.submit_batch(db, actors.finance, batch.id)
    assert await _queue(db, actors.approver, "batches_submitted") == 1
    await batches.approve_batch(db, actors.approver, batch.id)
    assert await _queue(db, actors.approver, "batches_submitted") == 0
    assert await _queue(db, actors.approver2, "batches_submitted") == 1


async def test_budget_per_wave_counts_approved_sent_and_paid(db, actors, tmp_path):
    await _incentives(db)
    paid = await batches.prepare_batch(db, actors.finance, INCENTIVES, CandidateFilter(limit=2))
    sent = await batches.prepare_batch(db, actors.finance, INCENTIVES, CandidateFilter(limit=2))
    approved = await batches.prepare_batch(db, actors.finance, INCENTIVES, CandidateFilter(limit=1))
    await batches.prepare_batch(db, actors.finance, INCENTIVES)  # a draft uses nothing yet
    for batch in (paid, sent, approved):
        await batches.submit_batch(db, actors.finance, batch.id)
        await batches.approve_batch(db, actors.approver, batch.id)
    for batch in (paid, sent):
        await files.export_disbursement(db, actors.finance, batch.id, tmp_path / f"{batch.id}.csv")
    page = await browse.batch_lines(db, actors.finance, paid.id)
    first, second = page.rows
    await files.reconcile(db, actors.finance, paid.id, files.results_text([
        (first.id, first.amount_idr, "paid", "TRX-1", ""), (second.id, second.amount_idr, "failed", "", "closed"),
    ]))
    (wave,) = await browse.wave_budgets(db, actors.approver)
    assert (wave.budget_idr, wave.paid_idr, wave.sent_idr, wave.approved_idr) == (10_000_000, 600_000, 1_200_000, 600_000)
    assert wave.used_idr == 2_400_000


async def test_the_dashboard_shows_the_budget_bars_to_finance_not_to_platform_staff(db, actors):
    await _incentives(db, count=2)
    batch = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        widget = app.screen.query_one(WaveBudgets)
        await wait_until(pilot, lambda: "Wave 1" in str(widget.render()))
        text = str(widget.render())
        assert "Incentive budget per wave" in text
        assert "12% of Rp10,000,000 used" in text
        assert "approved Rp1,200,000" in text and "▒" in text
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "tokopedia")
        assert not app.screen.query_one(WaveBudgets).display
