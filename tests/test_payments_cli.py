"""`mitra payments ...` from preparation to reconciliation, acting as the demo operators."""

from __future__ import annotations

import csv

from sqlalchemy import select

from store.models import PaymentBatch, PaymentLine
from tests.payments_support import PaymentWorld
from tests.cli_support import amitra


async def mitra(db_url: str, operator: str, *args: str):
    return await amitra("payments", *args, "--db", db_url, "--operator", operator, "--lang", "en")


async def _world(db):
    world = PaymentWorld(db)
    provider = await world.provider()
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia", price_idr=600_000_000, commission_bp=1000)
    wave = await world.wave(1, training_balance_idr=600_000_000)  # covers the course (the database caps it)
    for _ in range(2):
        await world.trainee(wave, listing)


async def _lines(db, batch_id):
    async with db.engine.connect() as connection:
        rows = await connection.execute(select(PaymentLine.__table__).where(PaymentLine.batch_id == batch_id).order_by(PaymentLine.id))
        return [dict(row._mapping) for row in rows]


async def test_a_batch_from_preparation_to_reconciliation(db, db_url, tmp_path):
    await _world(db)
    preview = await mitra(db_url, "finance", "candidates", "--platform", "tokopedia")
    assert preview.returncode == 0, preview.output
    assert "2 lines, Rp1,200,000,000 (one billion two hundred million rupiah)" in preview.output
    assert ("Paid to the platform (gross) Rp1,200,000,000; the platform keeps its commission Rp120,000,000 and owes"
            " the providers (net) Rp1,080,000,000.") in preview.output

    prepared = await mitra(db_url, "finance", "prepare", "--platform", "tokopedia")
    assert prepared.returncode == 0, prepared.output
    async with db.engine.connect() as connection:
        batch_id = (await connection.execute(select(PaymentBatch.id))).scalar_one()
    assert f"Batch {batch_id}: Training fees, Tokopedia, draft" in prepared.output

    assert (await mitra(db_url, "finance", "submit", str(batch_id))).returncode == 0
    refused = await mitra(db_url, "finance", "approve", str(batch_id))
    assert refused.returncode == 1 and "Your roles do not allow this" in refused.output
    first = await mitra(db_url, "approver", "approve", str(batch_id))
    assert first.returncode == 0 and "Approval 1 of 2 given" in first.output
    final = await mitra(db_url, "approver2", "approve", str(batch_id))
    assert final.returncode == 0 and "Approved (approval 2 of 2, the final one)" in final.output

    out = tmp_path / "disbursement.csv"
    exported = await mitra(db_url, "finance", "export", str(batch_id), "-o", str(out))
    assert exported.returncode == 0, exported.output
    with out.open(encoding="utf-8") as handle:
        exported_rows = list(csv.DictReader(handle))
    # The platform is paid the gross; each line names the provider, the commission and the net.
    assert [(row["payee"], row["amount"], row["provider"], row["commission"], row["net"]) for row in exported_rows] == [
        ("PT Tokopedia", "600000000", "LP Cakap Digital", "60000000", "540000000")
    ] * 2

    lines = await _lines(db, batch_id)
    results = tmp_path / "results.csv"
    results.write_text(
        "line_id,amount,status,payer_reference,failure_reason\n"
        f"{lines[0]['id']},600000000,paid,TRX-1,\n"
        "424242,600000000,paid,TRX-2,\n"
        f"{lines[1]['id']},60000000,paid,TRX-3,\n",
        encoding="utf-8",
    )
    bad = await mitra(db_url, "finance", "reconcile", str(batch_id), str(results), "--errors", str(tmp_path / "e.csv"))
    assert bad.returncode == 2
    assert "line 3, column line_id: Line 424242 is not a line of batch" in bad.output
    assert f"line 4, column amount: Line {lines[1]['id']} is for Rp600,000,000, not Rp60,000,000." in bad.output
    assert {line["status"] for line in await _lines(db, batch_id)} == {"pending"}

    results.write_text(
        "line_id,amount,status,payer_reference,failure_reason\n"
        f"{lines[0]['id']},600000000,paid,TRX-1,\n"
        f"{lines[1]['id']},600000000,failed,,rekening ditutup\n",
        encoding="utf-8",
    )
    good = await mitra(db_url, "finance", "reconcile", str(batch_id), str(results))
    assert good.returncode == 0, good.output
    assert "Recorded: 1 paid (Rp600,000,000), 1 failed (Rp600,000,000)" in good.output
    assert "1 of the failed lines failed for an account reason" in good.output
    assert f"Batch {batch_id} is reconciled" in good.output

    shown = await mitra(db_url, "auditor", "show", str(batch_id))
    assert shown.returncode == 0, shown.output
    assert "1 paid, 1 failed" in shown.output and "reconciled" in shown.output
    assert "owes the providers (net) Rp1,080,000,000" in shown.output
    listed = await mitra(db_url, "auditor", "list", "--state", "reconciled")
    assert f"Batch {batch_id}:" in listed.output


async def test_scope_must_be_one_platform_or_one_wave_and_payer(db, db_url):
    both = await mitra(db_url, "finance", "candidates", "--platform", "tokopedia", "--wave", "1")
    assert both.returncode == 2 and "either --platform" in both.output
    no_payer = await mitra(db_url, "finance", "candidates", "--wave", "1")
    assert no_payer.returncode == 2 and "--payer" in no_payer.output


async def test_thresholds_are_shown_and_changed_by_admins(db, db_url):
    shown = await mitra(db_url, "finance", "thresholds")
    assert "from Rp1,000,000,000: 2 approver(s)" in shown.output
    denied = await mitra(db_url, "finance", "thresholds", "--set", "0:1,500000000:2")
    assert denied.returncode == 1
    changed = await mitra(db_url, "admin", "thresholds", "--set", "0:1,500000000:2")
    assert changed.returncode == 0 and "from Rp500,000,000: 2 approver(s)" in changed.output


async def test_a_platforms_payout_account_is_registered_and_verified(db, db_url):
    world = PaymentWorld(db)
    provider = await world.provider()
    listing = await world.listing(provider, "tokopedia", platform_account=False)
    await world.trainee(await world.wave(1), listing)
    before = await mitra(db_url, "finance", "candidates", "--platform", "tokopedia")
    assert "tokopedia has no verified payout account" in before.output
    registered = await mitra(db_url, "finance", "accounts", "platform", "tokopedia", "--institution", "mandiri",
                             "--number", "1230004567890", "--holder", "PT Tokopedia", "--npwp", "01.234.567.8-901.000")
    assert registered.returncode == 0, registered.output
    assert "registered: MANDIRI 1230004567890 (not verified yet)" in registered.output
    account_id = registered.output.split("Payout account ")[1].split(" ")[0]
    verified = await mitra(db_url, "finance", "accounts", "verify", account_id)
    assert verified.returncode == 0, verified.output
    after = await mitra(db_url, "finance", "candidates", "--platform", "tokopedia")
    assert "1 line, Rp1,000,000" in after.output and "owes the providers (net) Rp900,000" in after.output
