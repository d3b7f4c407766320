"""A failed payout is not retried blindly: a line that failed for an account reason comes back only
once the payee's account has changed, or after an approver or finance officer records an override
with a reason (audited). A failure on the payer's side comes back at once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from textual.widgets import Input

from screens.payments_batch import BatchScreen
from store.errors import InvalidInput, PermissionDenied, RuleViolation
from store.models import AuditEvent, FailureKind, PaymentLine, PaymentRetryOverride
from store.services.payments import accounts, batches, browse, failures, files
from store.services.payments.payables import Scope
from tests.cli_support import amitra
from tests.payments_support import PaymentWorld
from tests.tui_support import SIZE, console, login, row_cells, wait_until
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.prompt import PromptScreen

INCENTIVES = Scope.incentives(1, "BNI")
FEES = Scope.fees("tokopedia")


@pytest.fixture
async def world(db):
    return PaymentWorld(db)


@pytest.mark.parametrize("reason", [
    "account closed", "Account Closed", "Invalid account number", "Beneficiary name mismatch", "account not found",
    "Rekening tidak aktif", "Nama pemilik rekening tidak sesuai", "Rekening sudah ditutup",
    "Akun dompet digital belum terverifikasi (KYC)", "Rekening diblokir", "dormant account",
    "rejected by beneficiary bank",  # no known word: the account's, until someone knows better
])
def test_account_reasons(reason):
    assert failures.classify(reason) == FailureKind.ACCOUNT


@pytest.mark.parametrize("reason", [
    "timeout", "Timeout at the bank's host", "connection timed out", "Waktu habis (timeout) di sisi bank",
    "Gangguan sistem bank", "daily limit reached, try again", "system maintenance",
])
def test_other_reasons(reason):
    assert failures.classify(reason) == FailureKind.OTHER


async def _lines(db, batch_id):
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(PaymentLine.__table__).where(PaymentLine.batch_id == batch_id).order_by(PaymentLine.id)
        )
        return [dict(row._mapping) for row in rows]


async def _send(db, actors, scope, tmp_path):
    batch = await batches.prepare_batch(db, actors.finance, scope)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    await files.export_disbursement(db, actors.finance, batch.id, tmp_path / f"batch-{batch.id}.csv")
    return batch, await _lines(db, batch.id)


async def _results(db, actors, batch_id, lines, reasons):
    """Record a result per line: a reason fails it, None pays it."""
    rows = [
        (line["id"], line["amount_idr"], "failed" if reason else "paid", "" if reason else f"TRX-{line['id']}",
         reason or "")
        for line, reason in zip(lines, reasons)
    ]
    return await files.reconcile(db, actors.finance, batch_id, files.results_text(rows))


async def _two_trainees(db, world):
    provider = await world.provider()
    listing = await world.listing(provider, "tokopedia")
    wave = await world.wave(1)
    return [await world.trainee(wave, listing) for _ in range(2)], listing


async def test_an_account_failure_waits_for_a_changed_account(db, actors, world, tmp_path):
    (closed, slow), _ = await _two_trainees(db, world)
    batch, (closed_line, slow_line) = await _send(db, actors, INCENTIVES, tmp_path)
    report = await _results(db, actors, batch.id, [closed_line, slow_line], ["account closed", "timeout"])
    assert (report.failed, report.failed_account) == (2, 1)
    kinds = {line["id"]: line["failure_kind"] for line in await _lines(db, batch.id)}
    assert kinds == {closed_line["id"]: "account", slow_line["id"]: "other"}

    # The timeout comes back at once, to the same account; the closed account's item waits.
    preview = await batches.preview_candidates(db, actors.finance, INCENTIVES)
    assert (preview.count, preview.held) == (1, 1)
    retry = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    assert [(line["item_key"], line["retry_of_line_id"]) for line in await _lines(db, retry.id)] == [
        (slow_line["item_key"], slow_line["id"])
    ]
    await batches.cancel_batch(db, actors.finance, retry.id, "test")

    # Registering the very same account again (and verifying it) changes nothing.
    csv_text = "nik,channel,institution,account_number,holder_name,holder_nik,verified\n"
    same = f"{closed.nik},bank,BNI,{closed_line['account_number']},{closed_line['payee_name']},{closed.nik},yes\n"
    await accounts.import_participant_accounts(db, actors.coordinator, csv_text + same)
    assert (await batches.preview_candidates(db, actors.finance, INCENTIVES)).held == 1

    # A corrected account releases it; the new line pays the new account and points at the failure.
    await accounts.import_participant_accounts(
        db, actors.coordinator, csv_text + f"{closed.nik},bank,BNI,5550001112,{closed_line['payee_name']},{closed.nik},yes\n"
    )
    preview = await batches.preview_candidates(db, actors.finance, INCENTIVES)
    assert (preview.count, preview.held) == (2, 0)
    again = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    by_item = {line["item_key"]: line for line in await _lines(db, again.id)}
    line = by_item[closed_line["item_key"]]
    assert (line["account_number"], line["retry_of_line_id"]) == ("5550001112", closed_line["id"])


async def test_an_override_lets_the_same_account_be_paid_again_with_a_reason(db, actors, world, tmp_path):
    (closed, paid), _ = await _two_trainees(db, world)
    batch, (closed_line, paid_line) = await _send(db, actors, INCENTIVES, tmp_path)
    await _results(db, actors, batch.id, [closed_line, paid_line], ["Rekening sudah ditutup", None])
    for actor, error in ((actors.coordinator, PermissionDenied), (actors.auditor, PermissionDenied)):
        with pytest.raises(error):
            await failures.allow_retry(db, actor, closed_line["id"], "bank reopened it")
    with pytest.raises(InvalidInput) as blank:
        await failures.allow_retry(db, actors.approver, closed_line["id"], "   ")
    assert blank.value.key == "payment.reason_required"
    with pytest.raises(RuleViolation) as not_failed:
        await failures.allow_retry(db, actors.approver, paid_line["id"], "why not")
    assert not_failed.value.key == "payment.override_needs_account_failure"

    allowed = await failures.allow_retry(db, actors.approver, closed_line["id"], "Bank confirmed the account is open again")
    assert allowed.item_key == closed_line["item_key"]
    with pytest.raises(RuleViolation) as twice:
        await failures.allow_retry(db, actors.finance, closed_line["id"], "again")
    assert twice.value.key == "payment.override_exists"
    async with db.engine.connect() as connection:
        event = (await connection.execute(
            select(AuditEvent.__table__).where(AuditEvent.action == "payment_line.retry_allowed")
        )).one()
    assert (event.entity_id, event.operator_name, event.reason) == (
        str(closed_line["id"]), "approver", "Bank confirmed the account is open again"
    )
    assert json.loads(event.changes)["details"]["failure_reason"] == "Rekening sudah ditutup"
    page = await browse.batch_lines(db, actors.finance, batch.id)
    assert [(line.retry_allowed, line.waits_for_account) for line in page.rows] == [(True, False), (False, False)]

    retry = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    line = next(x for x in await _lines(db, retry.id) if x["item_key"] == closed_line["item_key"])
    assert (line["account_number"], line["retry_of_line_id"]) == (closed_line["account_number"], closed_line["id"])
    # Failing again for the account, the item waits again: an override is good for one failure.
    await batches.submit_batch(db, actors.finance, retry.id)
    await batches.approve_batch(db, actors.approver, retry.id)
    await files.export_disbursement(db, actors.finance, retry.id, tmp_path / "retry.csv")
    await _results(db, actors, retry.id, await _lines(db, retry.id), ["account closed", None])
    assert (await batches.preview_candidates(db, actors.finance, INCENTIVES)).held == 1


async def test_a_fee_that_failed_on_the_platforms_account_waits_for_it_to_change(db, actors, world, tmp_path):
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1]])
    (trainee, _), listing = await _two_trainees(db, world)
    batch, lines = await _send(db, actors, FEES, tmp_path)
    await _results(db, actors, batch.id, lines, ["Nama pemilik rekening tidak sesuai", None])
    preview = await batches.preview_candidates(db, actors.finance, FEES)
    assert (preview.count, preview.held) == (0, 1)
    with pytest.raises(RuleViolation) as nothing:
        await batches.prepare_batch(db, actors.finance, FEES)
    assert nothing.value.key == "payment.no_candidates"
    # The office corrects the platform's account holder name; once verified, the fee is payable.
    view = await accounts.set_platform_account(
        db, actors.finance, "tokopedia",
        accounts.AccountDetails("bank", "MANDIRI", lines[0]["account_number"], "PT Tokopedia Indonesia"),
        "0987654321098765",
    )
    assert (await batches.preview_candidates(db, actors.finance, FEES)).count == 0  # not verified yet
    await accounts.verify_account(db, actors.finance, view.id)
    retry = await batches.prepare_batch(db, actors.finance, FEES)
    (line,) = await _lines(db, retry.id)
    assert (line["payee_name"], line["retry_of_line_id"]) == ("PT Tokopedia Indonesia", lines[0]["id"])


async def _raw(db, sql, **params):
    async with db.write_engine.begin() as connection:
        return await connection.execute(text(sql), params)


async def _refused(db, sql, rule, **params):
    with pytest.raises(DBAPIError) as refused:
        await _raw(db, sql, **params)
    assert f"mitra-rule:{rule}" in str(refused.value)


async def test_the_database_holds_the_same_rule(db, actors, world, tmp_path):
    (closed, slow), _ = await _two_trainees(db, world)
    batch, (closed_line, slow_line) = await _send(db, actors, INCENTIVES, tmp_path)
    # A failure must say whose fault it was, and only a failure may.
    await _refused(
        db, "UPDATE payment_line SET status = 'failed', live = false, failure_reason = 'closed' WHERE id = :l",
        "payment.guard.failure_kind", l=closed_line["id"],
    )
    await _refused(db, "UPDATE payment_line SET failure_kind = 'account' WHERE id = :l", "payment.guard.failure_kind",
                   l=slow_line["id"])
    await _results(db, actors, batch.id, [closed_line, slow_line], ["account closed", "timeout"])
    await _refused(db, "UPDATE payment_line SET failure_kind = 'other' WHERE id = :l", "payment.guard.frozen",
                   l=closed_line["id"])

    # A draft line paying the closed account again is refused, whoever writes it.
    draft = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    copy = (
        "INSERT INTO payment_line (batch_id, item_key, enrollment_id, participant_id, instalment, province_code,"
        " amount_idr, commission_idr, net_idr, payee_name, account_channel, account_institution, account_number,"
        " status, live, payer_reference, failure_reason, failure_kind, retry_of_line_id)"
        " SELECT :draft, item_key, enrollment_id, participant_id, instalment, province_code, amount_idr,"
        " commission_idr, net_idr, payee_name, account_channel, account_institution, account_number, 'pending', true,"
        " '', '', '', id FROM payment_line WHERE id = :l"
    )
    await _refused(db, copy, "payment.guard.retry_account", draft=draft.id, l=closed_line["id"])

    # Overrides: only for an account failure, once, never changed or removed.
    await _refused(
        db, "INSERT INTO payment_retry_override (line_id, granted_by, granted_at, reason)"
        " VALUES (:l, :o, CURRENT_TIMESTAMP, 'x')", "payment.guard.override",
        l=slow_line["id"], o=actors.finance.operator_id,
    )
    await failures.allow_retry(db, actors.finance, closed_line["id"], "Account reopened, bank letter 12/2026")
    await _refused(db, "UPDATE payment_retry_override SET reason = 'y'", "payment.guard.override")
    await _refused(db, "DELETE FROM payment_retry_override", "payment.guard.override")
    # With the override recorded, the same account may be paid again.
    await batches.cancel_batch(db, actors.finance, draft.id, "test")
    again = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    assert closed_line["item_key"] in {line["item_key"] for line in await _lines(db, again.id)}
    async with db.engine.connect() as connection:
        assert (await connection.execute(select(PaymentRetryOverride.line_id))).scalars().all() == [closed_line["id"]]


async def test_the_cli_allows_a_retry_with_a_reason(db, db_url, actors, world, tmp_path):
    (closed, _), _ = await _two_trainees(db, world)
    batch, (closed_line, other) = await _send(db, actors, INCENTIVES, tmp_path)
    await _results(db, actors, batch.id, [closed_line, other], ["account closed", None])
    async def mitra(*args):
        return await amitra("payments", *args, "--db", db_url, "--lang", "en")

    held = await mitra("candidates", "--wave", "1", "--payer", "BNI", "--operator", "finance")
    assert "1 more wait for a changed account" in held.output
    missing = await mitra("allow-retry", str(closed_line["id"]), "--operator", "finance")
    assert missing.returncode == 2  # --reason is required
    done = await mitra("allow-retry", str(closed_line["id"]), "--reason", "Bank letter 12/2026", "--operator", "finance")
    assert done.returncode == 0, done.output
    assert f"Line {closed_line['id']} ({closed_line['item_key']}): its item may be paid again" in done.output
    again = await mitra("allow-retry", str(closed_line["id"]), "--reason", "again", "--operator", "approver")
    assert again.returncode == 1 and "was already allowed" in again.output


async def test_the_batch_screen_offers_the_override_on_a_held_line(db, actors, world, tmp_path):
    (closed, _), _ = await _two_trainees(db, world)
    batch, (closed_line, other) = await _send(db, actors, INCENTIVES, tmp_path)
    await _results(db, actors, batch.id, [closed_line, other], ["account closed", None])
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "approver")
        await pilot.press("6")
        table = app.screen.query_one("#batches", PagedTable)
        await wait_until(pilot, lambda: table.row_count > 0)
        table.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.detail is not None)
        screen = app.screen
        lines = screen.query_one("#batch-lines", PagedTable)
        await wait_until(pilot, lambda: lines.row_count == 2)
        assert row_cells(lines, 0)[7] == "failed: account"
        lines.move_cursor(row=1)
        await pilot.pause()
        assert screen.check_action("allow_retry", ()) is None  # a paid line: shown, not active
        lines.move_cursor(row=0)
        await pilot.pause()
        assert screen.check_action("allow_retry", ()) is True
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen))
        field = app.screen.query_one(Input)
        field.value = "Bank confirmed the account is open"
        field.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: lines.row_count == 2 and row_cells(lines, 0)[7] == "failed: retry allowed")
        assert screen.check_action("allow_retry", ()) is None
    async with db.engine.connect() as connection:
        stored = (await connection.execute(select(PaymentRetryOverride))).one()
    assert (stored.line_id, stored.granted_by, stored.reason) == (
        closed_line["id"], actors.approver.operator_id, "Bank confirmed the account is open"
    )
