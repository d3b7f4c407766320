"""The demo's payments step: batches in every state from whatever completed enrollments exist,
nothing at all when there are none. (The same batches from the same seed: tests/test_demo.py
compares whole demos, every table.)"""

from __future__ import annotations

import pytest

from store.errors import InvalidInput
from store.services.payments.browse import BatchFilter

from sqlalchemy import func, select

from fixtures.build import DemoContext
from fixtures.steps.payments import payments
from store.models import PaymentBatch, PaymentLine, PayoutAccount
from store.services.payments import browse
from tests.payments_support import PaymentWorld


def _context(db) -> DemoContext:
    return DemoContext(db, participants=0, seed=2020, progress=lambda *_: None)


async def _count(db, model, *conditions) -> int:
    async with db.engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(model).where(*conditions))).scalar_one()


async def test_without_completed_enrollments_the_step_does_nothing(db):
    await payments(_context(db))
    assert await _count(db, PaymentBatch) == 0 and await _count(db, PayoutAccount) == 0


async def _demo_payments(db):
    world = PaymentWorld(db)
    wave = await world.wave(1, budget_idr=100_000_000_000)
    for number, platform in enumerate(("tokopedia", "bukalapak", "pintaria")):
        provider = await world.provider(name=f"LP Demo {number}", npwp="")
        listing = await world.listing(provider, platform, price_idr=500_000 + number * 100_000, platform_account=False)
        await world.trainees(wave, listing, 40)
    await payments(_context(db))


@pytest.mark.slow  # builds part of the demo
async def test_batches_in_every_state_from_the_completed_enrollments(db, actors):
    await _demo_payments(db)
    page = await browse.list_batches(db, actors.auditor, limit=100)
    by_state: dict[str, list] = {}
    for batch in page.rows:
        by_state.setdefault(batch.state, []).append(batch)
    assert set(by_state) == {"draft", "submitted", "approved", "sent", "reconciled", "rejected", "cancelled"}
    assert any(b.approvals_needed == 2 and b.approvals_given == 1 for b in by_state["submitted"])
    (rejected,) = by_state["rejected"]
    assert any(b.previous_batch_id == rejected.id and b.batch_version == 2 for b in page.rows)
    reconciled = by_state["reconciled"][0]
    assert reconciled.failed_idr > 0 and reconciled.paid_idr > 0
    assert await _count(db, PaymentLine, PaymentLine.batch_id == reconciled.id, PaymentLine.status == "failed") > 0
    assert {b.kind for b in page.rows} == {"training_fee", "incentive"}
    # Every platform, provider and participant with a completed first enrollment has an account;
    # the platforms' are verified (training fees are paid into them).
    assert await _count(db, PayoutAccount, PayoutAccount.owner_kind == "platform", PayoutAccount.verified) == 3
    assert await _count(db, PayoutAccount, PayoutAccount.owner_kind == "provider") == 3
    assert await _count(db, PayoutAccount, PayoutAccount.owner_kind == "participant") == 120


@pytest.mark.slow  # builds part of the demo
async def test_batches_sort_newest_first_by_largest_total_or_by_state_across_pages(db, actors):
    await _demo_payments(db)

    async def listed(sort: str) -> list:
        rows, cursor = [], None
        while True:
            page = await browse.list_batches(db, actors.auditor, BatchFilter(sort=sort), cursor, 2)
            rows += page.rows
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    newest, largest, by_state = await listed("newest"), await listed("largest"), await listed("state")
    assert len(newest) > 4 and sorted(b.id for b in newest) == sorted(b.id for b in largest) == sorted(b.id for b in by_state)
    assert [b.id for b in newest] == sorted((b.id for b in newest), reverse=True)
    assert [(b.total_idr, b.id) for b in largest] == sorted(((b.total_idr, b.id) for b in largest), reverse=True)
    assert [(b.state, b.id) for b in by_state] == sorted((b.state, b.id) for b in by_state)
    with pytest.raises(InvalidInput):
        await browse.list_batches(db, actors.auditor, BatchFilter(sort="total_idr"))
