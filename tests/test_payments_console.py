"""The Payments area under run_test: finance prepares and submits, two approvers approve after
reading the amount in words, finance exports the file and records the results; the database
agrees at every step."""

from __future__ import annotations

from sqlalchemy import func, select
from textual.widgets import Input, Select, Static

from screens.payments import PaymentsArea
from screens.payments_batch import BatchScreen
from screens.payments_prepare import PrepareScreen
from store.models import BatchApproval, PaymentBatch, PaymentLine
from store.services.payments import batches, files
from store.services.payments.payables import CandidateFilter, Scope
from tests.payments_support import PaymentWorld
from tests.tui_support import SIZE, console, login, row_cells, settle, table_lines, wait_until
from tui.i18n import set_language
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.prompt import PromptScreen


async def _world(db):
    world = PaymentWorld(db)
    provider = await world.provider(name="LP Cakap Digital")
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia", price_idr=600_000_000)
    wave = await world.wave(1, training_balance_idr=600_000_000)  # covers the course (the database caps it)
    for _ in range(2):
        await world.trainee(wave, listing)


async def _batch(db):
    async with db.engine.connect() as connection:
        return (await connection.execute(select(PaymentBatch.__table__))).one()


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _open_first_batch(pilot) -> BatchScreen:
    await pilot.press("6")
    table = pilot.app.screen.query_one("#batches", PagedTable)
    await wait_until(pilot, lambda: table.row_count > 0)
    table.focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, BatchScreen) and pilot.app.screen.detail is not None)
    return pilot.app.screen


async def _confirm(pilot) -> ConfirmScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    return pilot.app.screen


async def _answer_prompt(pilot, value: str) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, PromptScreen))
    field = pilot.app.screen.query_one(Input)
    field.value = value
    field.focus()
    await pilot.press("enter")


async def test_finance_prepares_approvers_approve_finance_sends_and_reconciles(db, tmp_path):
    await _world(db)

    # Finance prepares the Tokopedia fees and submits them.
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PrepareScreen) and app.screen._platforms)
        prepare = app.screen
        prepare.query_one("#prepare-platform", Select).value = "tokopedia"
        await pilot.click("#prepare-preview")
        await wait_until(pilot, lambda: prepare.summary is not None)
        assert "2 candidates · total Rp1,200,000,000" in _text(prepare, "#prepare-result")
        assert "one billion two hundred million rupiah" in _text(prepare, "#prepare-result")
        await pilot.click("#prepare-create")
        confirm = await _confirm(pilot)
        assert "2 lines, total Rp1,200,000,000" in _text(confirm, "#confirm-body")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.detail is not None)
        batch_screen = app.screen
        assert "Batch 1 · Training fees · Tokopedia" in _text(batch_screen, "#batch-title")
        # Paid to the platform (gross), its commission, owed on to the providers (net): true labels.
        assert ("Paid to Tokopedia (gross) Rp1,200,000,000 · its commission Rp120,000,000 · owed on to providers"
                " (net) Rp1,080,000,000") in _text(batch_screen, "#batch-summary")
        lines = batch_screen.query_one("#batch-lines", PagedTable)
        await wait_until(pilot, lambda: lines.row_count == 2)
        row = [str(cell) for cell in lines.get_row_at(0)]
        assert row[1:3] + row[4:7] == ["fee · LP Cakap Digital", "PT Tokopedia", "Rp600,000,000", "Rp60,000,000",
                                       "Rp540,000,000"]
        assert row[3].startswith("MANDIRI 77")  # the platform's account
        assert (await _batch(db)).state == "draft"
        assert not batch_screen.check_action("approve", ())  # finance cannot approve
        await pilot.press("s")
        await _confirm(pilot)
        await pilot.press("y")
        await wait_until(pilot, lambda: batch_screen.detail.batch.state == "submitted")
    stored = await _batch(db)
    assert (stored.state, stored.approvals_needed, stored.total_idr) == ("submitted", 2, 1_200_000_000)

    # The first approver reads the amount in words, in Indonesian, and that this is the first approval.
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "approver")
        app.switch_language("id")
        await settle(pilot)
        screen = await _open_first_batch(pilot)
        await pilot.press("a")
        confirm = await _confirm(pilot)
        body = _text(confirm, "#confirm-body")
        assert "Total: Rp1.200.000.000" in body
        assert "Terbilang: satu miliar dua ratus juta rupiah" in body
        assert "Ini yang PERTAMA" in body
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.detail.batch.approvals_given == 1)
    set_language("en")
    assert (await _batch(db)).state == "submitted"

    # The second approver gives the final approval.
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "approver2")
        screen = await _open_first_batch(pilot)
        await pilot.press("a")
        confirm = await _confirm(pilot)
        body = _text(confirm, "#confirm-body")
        assert "In words: one billion two hundred million rupiah" in body
        assert "FINAL approval (2 of 2)" in body
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.detail.batch.state == "approved")
    async with db.engine.connect() as connection:
        approvals = (await connection.execute(select(func.count()).select_from(BatchApproval))).scalar_one()
    assert ((await _batch(db)).state, approvals) == ("approved", 2)

    # Finance exports the disbursement file, then records the payer's results.
    disbursement = tmp_path / "batch-1.csv"
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        screen = await _open_first_batch(pilot)
        await pilot.press("e")
        await _answer_prompt(pilot, str(disbursement))
        confirm = await _confirm(pilot)
        assert str(disbursement) in _text(confirm, "#confirm-body")
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.detail.batch.state == "sent")
        assert disbursement.read_text().startswith(
            "line_id,payee,channel,institution,account_number,amount,provider,commission,net,reference\n")

        async with db.engine.connect() as connection:
            line_ids = (await connection.execute(select(PaymentLine.id).order_by(PaymentLine.id))).scalars().all()
        results = tmp_path / "results.csv"
        results.write_text(
            "line_id,amount,status,payer_reference,failure_reason\n"
            f"{line_ids[0]},600000000,paid,TRX-1,\n{line_ids[1]},600000000,failed,,rekening ditutup\n",
            encoding="utf-8",
        )
        await pilot.press("m")
        await _answer_prompt(pilot, str(results))
        await wait_until(pilot, lambda: screen.detail.batch.state == "reconciled")
        assert "1 paid, 1 failed" in _text(screen, "#batch-summary")
        # "rekening ditutup": the account's fault; the line says so.
        lines = screen.query_one("#batch-lines", PagedTable)
        await wait_until(pilot, lambda: lines.row_count == 2 and row_cells(lines, 1)[7] == "failed: account")
    stored = await _batch(db)
    assert (stored.state, stored.paid_idr, stored.failed_idr) == ("reconciled", 600_000_000, 600_000_000)
    async with db.engine.connect() as connection:
        statuses = (await connection.execute(select(PaymentLine.status, PaymentLine.live).order_by(PaymentLine.id))).all()
    assert [tuple(row) for row in statuses] == [("paid", True), ("failed", False)]


async def test_refused_results_are_listed_with_their_line_numbers(db, actors, tmp_path):
    await _world(db)
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1]])
    batch = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "out.csv")
    results = tmp_path / "results.csv"
    results.write_text("line_id,amount,status,payer_reference\n777,600000000,paid,TRX-9\n", encoding="utf-8")
    app = console(db)
    notes = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify = lambda message, **kwargs: notes.append(message)
        await login(pilot, "finance")
        await _open_first_batch(pilot)
        await pilot.press("m")
        await _answer_prompt(pilot, str(results))
        await wait_until(pilot, lambda: notes)
    assert "line 2, column line_id: Line 777 is not a line of batch 1." in notes[-1]
    assert (await _batch(db)).state == "sent"


async def _two_batches(db, actors):
    """A draft of one line, then a submitted batch of every candidate: (small, large)."""
    await _world(db)
    small = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"), CandidateFilter(limit=1))
    large = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    await batches.submit_batch(db, actors.finance, large.id)
    return small, large


async def _batches_list(pilot) -> tuple[PaymentsArea, PagedTable]:
    await login(pilot, "finance")
    await pilot.press("6")
    area = pilot.app.screen.query_one(PaymentsArea)
    table = area.query_one("#batches", PagedTable)
    await wait_until(pilot, lambda: table.row_count == 2)
    return area, table


async def test_the_list_shows_kind_scope_state_count_total_approvals_and_filters(db, actors):
    _small, submitted = await _two_batches(db, actors)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        area, table = await _batches_list(pilot)
        assert [str(cell) for cell in table.get_row(str(submitted.id))] == [
            str(submitted.id), "Training fees", "Tokopedia", "submitted", "1", "Rp600,000,000", "0/1", "1", "finance",
        ]
        await pilot.resize_terminal(80, 24)  # field staff's terminal: every total still whole
        await wait_until(pilot, lambda: all("Rp600,000,000" in line for line in table_lines(table, 3)[1:]))
        await pilot.resize_terminal(*SIZE)
        assert area.check_action("prepare", ())
        area.query_one("#filter-state", Select).value = "submitted"
        await wait_until(pilot, lambda: table.row_count == 1 and str(submitted.id) in table.rows_by_key)
        app.switch_language("id")
        await wait_until(pilot, lambda: table.row_count == 1 and str(table.get_row(str(submitted.id))[3]) == "diajukan")
        assert str(table.get_row(str(submitted.id))[5]) == "Rp600.000.000"
        kinds = area.query_one("#filter-kind", Select).query_one("SelectCurrent Static#label")
        assert str(kinds.render()) == "Semua jenis", "the filter speaks the new language too"
    set_language("en")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "tokopedia")
        await pilot.press("6")
        area = app.screen.query_one(PaymentsArea)
        await wait_until(pilot, lambda: area.query_one("#batches", PagedTable).row_count == 2)
        assert not area.check_action("prepare", ())


async def test_an_approver_who_already_approved_is_told_so_before_pressing_anything(db, actors):
    """The store says approving again is refused: the key is shown disabled, the reason is on the
    screen, and pressing it opens no confirmation that would promise a 'final approval'."""
    await _world(db)
    await batches.set_approval_thresholds(db, actors.admin, [[0, 2]])
    batch = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "approver")
        screen = await _open_first_batch(pilot)
        assert screen.check_action("approve", ()) is None  # shown, disabled
        assert screen.check_action("reject", ()) is True
        assert screen.check_action("submit", ()) is False  # does not apply to a submitted batch
        assert f"Not now: Approve. You have already approved batch {batch.id}" in _text(screen, "#batch-held")
        await pilot.press("a")
        await settle(pilot)
        assert app.screen is screen
    async with db.engine.connect() as connection:
        approvals = (await connection.execute(select(func.count()).select_from(BatchApproval))).scalar_one()
    assert approvals == 1


async def test_preparing_fees_says_when_the_platform_has_no_payout_account(db):
    world = PaymentWorld(db)
    provider = await world.provider(name="LP Cakap Digital")
    listing = await world.listing(provider, "tokopedia", platform_account=False)
    await world.trainee(await world.wave(1), listing)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PrepareScreen) and app.screen._platforms)
        prepare = app.screen
        prepare.query_one("#prepare-platform", Select).value = "tokopedia"
        await pilot.click("#prepare-preview")
        await wait_until(pilot, lambda: prepare.summary is not None)
        text = _text(prepare, "#prepare-result")
        assert "0 candidates" in text
        assert "Tokopedia has no verified payout account: training fees are paid to the platform" in text
        assert prepare.query_one("#prepare-create").disabled


async def test_back_from_a_batch_the_cursor_is_still_on_it(db, actors):
    await _world(db)
    await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"), CandidateFilter(limit=1))
    await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"), CandidateFilter(limit=1))
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        await pilot.press("6")
        table = app.screen.query_one("#batches", PagedTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        table.focus()
        await pilot.press("down")
        second = table.selected_row().id
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.detail is not None)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, BatchScreen) and table.row_count == 2)
        await settle(pilot)
        assert table.selected_row().id == second and table.cursor_row == 1


async def test_o_puts_the_largest_batch_first_then_orders_by_state(db, actors):
    small, large = await _two_batches(db, actors)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        area, table = await _batches_list(pilot)
        status = area.query_one("#payments-status")
        table.focus()

        assert "newest first" in str(status.render())
        for words, first in (("largest total first", large.id), ("by state", small.id), ("newest first", large.id)):
            await pilot.press("o")
            await wait_until(pilot, lambda words=words: words in str(status.render()) and table.row_count == 2)
            assert table.selected_row().id == first
        await pilot.press("o", "o")  # by state: the draft before the submitted batch
        await wait_until(pilot, lambda: "by state" in str(status.render()) and table.row_count == 2)
        assert [row.id for row in table.rows_by_key.values()] == [small.id, large.id]


async def test_a_new_version_offers_no_key_until_it_is_loaded(db, actors):
    # The keys follow the batch on screen: while the new draft loads, the rejected batch just left
    # must not lend it its own (a key pressed then would act on no batch).
    await _world(db)
    batch = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.reject_batch(db, actors.approver, batch.id, "Wrong scope")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        screen = await _open_first_batch(pilot)
        assert screen.check_action("new_version", ()) is True
        draft = await batches.new_version(db, actors.finance, batch.id)
        screen._new_version(draft)  # as when the store's answer comes back; the draft is on its way
        assert screen.detail is None
        assert not any(screen.check_action(action, ()) for action in ("new_version", "submit", "cancel", "export"))
        await wait_until(pilot, lambda: screen.detail is not None)
        assert screen.detail.batch.id == draft.id
        assert screen.check_action("submit", ()) is True
