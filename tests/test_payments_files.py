"""The disbursement file out and the payer's results back: export, reconciliation, retries."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from sqlalchemy import select

from store.errors import InvalidInput, RuleViolation
from store.models import AuditEvent, PaymentBatch, PaymentLine
from store.services.payments import batches, browse, files
from store.services.payments.payables import Scope
from tests.payments_support import PaymentWorld

INCENTIVES = Scope.incentives(1, "BNI")


@pytest.fixture
async def world(db):
    return PaymentWorld(db)


async def _approved_batch(db, actors, world, count=3):
    provider = await world.provider()
    listing = await world.listing(provider, "tokopedia")
    wave = await world.wave(1)
    trainees = [await world.trainee(wave, listing) for _ in range(count)]
    batch = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    return batch, trainees


async def _lines(db, batch_id):
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(PaymentLine.__table__).where(PaymentLine.batch_id == batch_id).order_by(PaymentLine.id)
        )
        return [dict(row._mapping) for row in rows]


async def _batch(db, batch_id):
    async with db.engine.connect() as connection:
        return (await connection.execute(select(PaymentBatch.__table__).where(PaymentBatch.id == batch_id))).one()


async def _actions(db, batch_id):
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(AuditEvent.action, AuditEvent.changes)
            .where(AuditEvent.entity == "payment_batch", AuditEvent.entity_id == str(batch_id))
            .order_by(AuditEvent.id)
        )
        return [(row.action, json.loads(row.changes)) for row in rows]


async def test_export_writes_the_documented_layout_and_marks_the_batch_sent(db, actors, world, tmp_path):
    batch, trainees = await _approved_batch(db, actors, world)
    target = tmp_path / "disbursement.csv"
    result = await files.export_disbursement(db, actors.finance, batch.id, target)
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    lines = await _lines(db, batch.id)
    assert rows[0] == [
        "line_id", "payee", "channel", "institution", "account_number", "amount", "provider", "commission", "net",
        "reference",
    ]
    # An incentive: the participant's own account is paid the whole amount; no provider, no commission.
    assert rows[1] == [
        str(lines[0]["id"]), lines[0]["payee_name"], "bank", "BNI", lines[0]["account_number"], "600000",
        "", "0", "600000", f"MITRA-B{batch.id}-L{lines[0]['id']}",
    ]
    assert len(rows) == 1 + len(trainees)
    assert (result.line_count, result.total_idr, result.first_export) == (3, 1_800_000, True)
    assert result.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert (await _batch(db, batch.id)).state == "sent"
    action, changes = (await _actions(db, batch.id))[-1]
    assert action == "payment_batch.sent"
    assert changes["details"] == {"line_count": 3, "total_idr": 1_800_000, "sha256": result.sha256, "file": "disbursement.csv"}
    again = await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "copy.csv")
    assert not again.first_export and (await _actions(db, batch.id))[-1][0] == "payment_batch.exported_again"


async def test_fee_file_pays_the_platform_gross_and_names_provider_commission_and_net(db, actors, world, tmp_path):
    """Batch 7 of the issue: Rp1,300,000 of fees, Rp1,114,000 owed on to providers. The file pays
    the platform the gross, and every line says which provider the platform owes how much."""
    cakap = await world.provider("LP Cakap Digital")
    kelas = await world.provider("LP Kelas Kita", npwp="0123456789012346")
    barista = await world.listing(cakap, "tokopedia", price_idr=1_000_000, commission_bp=1500)
    excel = await world.listing(kelas, "tokopedia", price_idr=300_000, commission_bp=1200, title="Excel")
    wave = await world.wave(1)
    await world.trainee(wave, barista, account=False)
    await world.trainee(wave, excel, account=False)
    batch = await batches.prepare_batch(db, actors.finance, Scope.fees("tokopedia"))
    assert (batch.total_idr, batch.commission_idr) == (1_300_000, 186_000)
    await batches.submit_batch(db, actors.finance, batch.id)
    await batches.approve_batch(db, actors.approver, batch.id)
    target = tmp_path / "fees.csv"
    result = await files.export_disbursement(db, actors.finance, batch.id, target)
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    platform_account = f"77{barista.platform_id:08d}"
    assert [
        (row["payee"], row["institution"], row["account_number"], row["amount"], row["provider"], row["commission"],
         row["net"])
        for row in rows
    ] == [
        ("PT Tokopedia", "MANDIRI", platform_account, "1000000", "LP Cakap Digital", "150000", "850000"),
        ("PT Tokopedia", "MANDIRI", platform_account, "300000", "LP Kelas Kita", "36000", "264000"),
    ]
    # What the payer transfers is the gross, to the platform: the file's total is the batch's.
    assert sum(int(row["amount"]) for row in rows) == result.total_idr == 1_300_000
    assert sum(int(row["net"]) for row in rows) == 1_114_000
    # The batch's own summary says the same: paid to the platform, owed on to the providers.
    detail = await browse.batch_detail(db, actors.finance, batch.id)
    assert [(group.label, group.total_idr, group.net_idr) for group in detail.groups] == [
        ("LP Cakap Digital", 1_000_000, 850_000), ("LP Kelas Kita", 300_000, 264_000),
    ]
    page = await browse.batch_lines(db, actors.finance, batch.id)
    assert [(line.payee_name, line.provider_name, line.amount_idr, line.net_idr) for line in page.rows] == [
        ("PT Tokopedia", "LP Cakap Digital", 1_000_000, 850_000), ("PT Tokopedia", "LP Kelas Kita", 300_000, 264_000),
    ]
    # The payer may hand the file back with its results appended: every column is understood.
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, [*rows[0].keys(), "status", "payer_reference", "failure_reason"],
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "status": "paid", "payer_reference": f"TRX-{row['line_id']}", "failure_reason": ""})
    report = await files.reconcile(db, actors.finance, batch.id, buffer.getvalue())
    assert (report.errors, report.paid, report.paid_idr, report.reconciled) == ([], 2, 1_300_000, True)


async def test_only_approved_batches_are_exported(db, actors, world, tmp_path):
    provider = await world.provider()
    listing = await world.listing(provider, "tokopedia")
    wave = await world.wave(1)
    await world.trainee(wave, listing)
    batch = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    with pytest.raises(RuleViolation) as refused:
        await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "x.csv")
    assert refused.value.key == "payment.export_needs_approved"
    assert not (tmp_path / "x.csv").exists()


async def test_reconciliation_records_paid_and_failed_lines(db, actors, world, tmp_path):
    batch, _ = await _approved_batch(db, actors, world)
    await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "out.csv")
    first, second, third = await _lines(db, batch.id)
    results = files.results_text([
        (first["id"], 600_000, "paid", "TRX-1", ""),
        (second["id"], 600_000, "failed", "", "Timeout at the bank's host"),
    ])
    report = await files.reconcile(db, actors.finance, batch.id, results)
    assert (report.imported, report.paid, report.failed, report.reconciled, report.errors) == (2, 1, 1, False, [])
    assert (await _batch(db, batch.id)).state == "sent"  # the third line still waits
    # The same file again changes nothing; the rest completes the batch.
    assert (await files.reconcile(db, actors.finance, batch.id, results)).unchanged == 2
    report = await files.reconcile(
        db, actors.finance, batch.id, files.results_text([(third["id"], 600_000, "paid", "TRX-3", "")])
    )
    assert report.reconciled and report.batch_state == "reconciled"
    stored = await _batch(db, batch.id)
    assert (stored.state, stored.paid_idr, stored.failed_idr) == ("reconciled", 1_200_000, 600_000)
    by_id = {line["id"]: line for line in await _lines(db, batch.id)}
    assert (by_id[first["id"]]["status"], by_id[first["id"]]["live"], by_id[first["id"]]["payer_reference"]) == ("paid", True, "TRX-1")
    second_line = by_id[second["id"]]
    assert (second_line["status"], second_line["live"], second_line["failure_reason"], second_line["failure_kind"]) == (
        "failed", False, "Timeout at the bank's host", "other"
    )
    actions = [action for action, _ in await _actions(db, batch.id)]
    assert actions[-2:] == ["payment_batch.results_imported", "payment_batch.reconciled"]

    # A failure on the payer's side: the item is a candidate again at once, to the same account;
    # paid in a later batch, its line points at the original.
    # (The paid participants meanwhile get their second instalment, which retries nothing.)
    retry = await batches.prepare_batch(db, actors.finance, INCENTIVES)
    assert sorted((line["item_key"], line["retry_of_line_id"]) for line in await _lines(db, retry.id)) == sorted([
        (second["item_key"], second["id"]),
        (f"incentive:{first['participant_id']}:2", None),
        (f"incentive:{third['participant_id']}:2", None),
    ])


async def test_unknown_lines_and_wrong_amounts_refuse_the_whole_file(db, actors, world, tmp_path):
    batch, _ = await _approved_batch(db, actors, world)
    await files.export_disbursement(db, actors.finance, batch.id, tmp_path / "out.csv")
    first, second, third = await _lines(db, batch.id)
    text = files.results_text([
        (first["id"], 600_000, "paid", "TRX-1", ""),  # line 2: good
        (999_999, 600_000, "paid", "TRX-2", ""),  # line 3: not in the batch
        (second["id"], 650_000, "paid", "TRX-3", ""),  # line 4: wrong amount
        (third["id"], 600_000, "refunded", "", ""),  # line 5: unknown status
        (first["id"], 600_000, "paid", "TRX-1", ""),  # line 6: twice in the file
        (third["id"], 600_000, "failed", "", ""),  # line 7: failed without a reason
    ])
    report = await files.reconcile(db, actors.finance, batch.id, text)
    assert [(error.line, error.column, error.key) for error in report.errors] == [
        (3, "line_id", "payment.result.unknown_line"),
        (4, "amount", "payment.result.amount_mismatch"),
        (5, "status", "payment.result.status"),
        (6, "line_id", "payment.result.duplicate"),
        (7, "failure_reason", "payment.result.reason_required"),
    ]
    assert report.errors[1].params == {"line_id": second["id"], "expected_idr": 600_000, "found_idr": 650_000}
    assert report.imported == 0 and report.exit_status == 2
    # Nothing was applied, not even the good row; the refusal is on record.
    assert {line["status"] for line in await _lines(db, batch.id)} == {"pending"}
    assert (await _batch(db, batch.id)).state == "sent"
    action, changes = (await _actions(db, batch.id))[-1]
    assert action == "payment_batch.results_refused" and changes["details"] == {"rows": 6, "refused_rows": 5}


async def test_results_need_a_sent_batch_and_the_right_header(db, actors, world):
    batch, _ = await _approved_batch(db, actors, world, count=1)
    with pytest.raises(RuleViolation) as early:
        await files.reconcile(db, actors.finance, batch.id, files.results_text([]))
    assert early.value.key == "payment.reconcile_needs_sent"
    with pytest.raises(InvalidInput) as header:
        await files.reconcile(db, actors.finance, batch.id, "line,amount,result\n1,2,paid\n")
    assert header.value.key == "input.csv.header"
