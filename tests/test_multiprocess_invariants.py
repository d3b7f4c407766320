"""Four processes against one database at once, for a few seconds each: selecting waves, assigning
courses one by one and in bulk, completing them, preparing, submitting and approving fee batches
(tests/mp_worker.py). Afterwards the books must hold, whatever interleaving happened: every wave
holds what its selection reported, nobody is in two waves or holds a card twice, nobody has two
active courses, every balance is the wave's balance less what was bought, no item is on two live
payment lines, every approved batch has its approvals (none by its preparer) and its total is its
lines, and the audit chain verifies."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from store.models import PayoutAccount, Provider
from store.services import audit_log, waves
from store.services.payments import batches
from tests.participants_support import add_participants, make_listing, person, wave_input
from tests.payments_support import PaymentWorld

# Whole demo builds / several processes: the slow tier (`-m "not slow"` leaves them out).
pytestmark = pytest.mark.slow

PROCESSES = 4
SECONDS = 8
ROOT = Path(__file__).resolve().parent.parent


async def _world(db, actors) -> None:
    people = [person(province=("32", "33", "35")[n % 3], birth=dt.date(1990, 1, 1 + n % 28)) for n in range(360)]
    await add_participants(db, actors.coordinator, people)
    start = dt.date.today() - dt.timedelta(days=2)  # purchases are open
    for number in (31, 32, 33, 34):
        await waves.create_wave(db, actors.admin, wave_input(number, quota=70, starts_on=start))
    for code, price in (("tokopedia", 600_000), ("bukalapak", 450_000), ("tokopedia", 900_000)):
        await make_listing(db, actors.admin, platform_code=code, price=price, hours=6, title=f"Kelas {code} {price}")
    async with db.write_engine.begin() as connection:  # every provider has a verified account
        provider_ids = (await connection.execute(Provider.__table__.select().with_only_columns(Provider.id))).scalars().all()
        for provider_id in provider_ids:
            await connection.execute(PayoutAccount.__table__.insert().values(
                owner_kind="provider", provider_id=provider_id, channel="bank", institution="BCA",
                account_number=f"77{provider_id:08d}", holder_name=f"LP {provider_id}", holder_npwp="0123456789012345",
                verified=True, version=1,
            ))
    for code in ("tokopedia", "bukalapak"):  # training fees are paid into the platform's account
        await PaymentWorld(db).platform_account(code)
    await batches.set_approval_thresholds(db, actors.admin, [[0, 1], [2_000_000, 2]])


def _run_workers(db_url: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    running = [
        subprocess.Popen([sys.executable, "-m", "tests.mp_worker", db_url, str(seed), str(SECONDS)],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in range(1, PROCESSES + 1)
    ]
    reports = []
    for process in running:
        out, err = process.communicate(timeout=SECONDS + 120)
        assert process.returncode == 0, f"a worker failed:\n{err[-3000:]}"
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


async def _rows(db, sql: str) -> list:
    async with db.engine.connect() as connection:
        return (await connection.execute(text(sql))).all()


async def test_four_processes_at_once_leave_the_books_exact(db, db_url, actors):
    await _world(db, actors)
    reports = _run_workers(db_url)
    done = sum((Counter(report["done"]) for report in reports), Counter())
    refused = sum((Counter(report["refused"]) for report in reports), Counter())
    # The mix really ran, concurrently: selections, purchases and approvals all happened.
    assert done["select_wave"] >= 1 and done["assign_one"] + done["assign_bulk"] >= 1 and done["prepare"] >= 1
    assert (await _rows(db, "SELECT COUNT(*) FROM payment_batch WHERE state = 'approved'"))[0][0] >= 1
    assert not {key for key in refused if key.startswith(("db.", "input."))} - {"db.busy"}, refused

    # Every wave holds exactly what its (one) successful selection reported, within its quota.
    reported: dict[str, int] = {}
    for report in reports:
        for number, count in report["selected"].items():
            assert number not in reported, f"wave {number} was selected twice"
            reported[number] = count
    held = dict(await _rows(db, "SELECT w.number, COUNT(p.id) FROM wave w JOIN participant p ON p.wave_id = w.id"
                                " GROUP BY w.number"))
    assert {str(number): count for number, count in held.items()} == reported
    assert all(count <= 70 for count in held.values())
    # Cards: one per selected participant, never twice.
    assert await _rows(db, "SELECT card_number FROM participant WHERE card_number IS NOT NULL"
                           " GROUP BY card_number HAVING COUNT(*) > 1") == []
    # At most one active course each; balances are the wave's balance less what was bought.
    assert await _rows(db, "SELECT participant_id FROM enrollment WHERE status IN ('assigned', 'in_progress')"
                           " GROUP BY participant_id HAVING COUNT(*) > 1") == []
    assert await _rows(db, """
        SELECT p.id FROM participant p JOIN wave w ON w.id = p.wave_id
        WHERE p.balance_idr <> w.training_balance_idr - COALESCE((SELECT SUM(e.price_idr) FROM enrollment e
              WHERE e.participant_id = p.id AND e.status <> 'cancelled'), 0)""") == []
    # Never paid twice; approved batches carry their approvals, none by the preparer; totals are lines.
    assert await _rows(db, "SELECT enrollment_id FROM payment_line WHERE live AND instalment IS NULL"
                           " GROUP BY enrollment_id HAVING COUNT(*) > 1") == []
    assert await _rows(db, """
        SELECT b.id FROM payment_batch b WHERE b.state IN ('approved', 'sent', 'reconciled') AND (
            (SELECT COUNT(*) FROM batch_approval a WHERE a.batch_id = b.id) < b.approvals_needed
            OR EXISTS (SELECT 1 FROM batch_approval a WHERE a.batch_id = b.id AND a.approver_id = b.prepared_by))""") == []
    assert await _rows(db, """
        SELECT b.id FROM payment_batch b WHERE b.state <> 'draft' AND b.total_idr <> COALESCE(
            (SELECT SUM(l.amount_idr) FROM payment_line l WHERE l.batch_id = b.id), 0)""") == []
    verified = await audit_log.verify(db, actors.auditor)
    assert verified.intact, verified
