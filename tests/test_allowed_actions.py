"""The store's answer to "what may this operator do on this record now, and if not, why",
tested without the console: it agrees with what the operations themselves accept or refuse."""

from __future__ import annotations

import pytest

from store.errors import MitraError
from store.models import OperatorRole
from store.services import operators
from store.services.payments import batch_rules, batches, files
from store.services.payments.payables import Scope
from tests.payments_support import PaymentWorld

FEES = Scope.fees("tokopedia")


@pytest.fixture
async def submitted(db, actors):
    """A submitted fee batch of two lines that needs two approvals."""
    world = PaymentWorld(db)
    provider = await world.provider()
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia", price_idr=1_000_000)
    wave_id = await world.wave(1)
    for _ in range(2):
        await world.trainee(wave_id, listing)
    await batches.set_approval_thresholds(db, actors.admin, [[0, 2]])
    batch = await batches.prepare_batch(db, actors.finance, FEES)
    await batches.submit_batch(db, actors.finance, batch.id)
    return batch.id


async def _attempt(db, actor, action: str, batch_id: int, tmp_path) -> MitraError | None:
    """Run the operation itself; the refusal it raised, or None when it went through."""
    results = tmp_path / "results.csv"
    results.write_text(",".join(files.RESULT_COLUMNS) + "\n", encoding="utf-8")
    calls = {
        "submit": lambda: batches.submit_batch(db, actor, batch_id),
        "approve": lambda: batches.approve_batch(db, actor, batch_id),
        "reject": lambda: batches.reject_batch(db, actor, batch_id, "checking"),
        "cancel": lambda: batches.cancel_batch(db, actor, batch_id, "checking"),
        "export": lambda: files.export_disbursement(db, actor, batch_id, tmp_path / "out.csv"),
        "reconcile": lambda: files.reconcile_file(db, actor, batch_id, results),
        "new_version": lambda: batches.new_version(db, actor, batch_id),
    }
    try:
        await calls[action]()
    except MitraError as refused:
        return refused
    return None


async def test_every_refusal_the_table_gives_is_the_one_the_operation_gives(db, actors, submitted, tmp_path):
    """For each operator and each action the table refuses, the operation refuses with the same key."""
    assert set(batch_rules.BATCH_RULES) == {"submit", "approve", "reject", "cancel", "export", "reconcile", "new_version"}
    for name in ("finance", "approver", "approver2", "auditor", "admin", "tokopedia"):
        actor = actors[name]
        judged = (await batch_rules.batch_actions(db, actor, submitted)).actions
        for action, refusal in judged.items():
            if refusal is None:
                continue
            happened = await _attempt(db, actor, action, submitted, tmp_path)
            assert happened is not None and happened.key == refusal.key, (name, action, refusal, happened)


async def test_a_submitted_batch_as_each_operator_sees_it(db, actors, submitted):
    async def judged(actor):
        return (await batch_rules.batch_actions(db, actor, submitted)).actions

    finance = await judged(actors.finance)
    assert finance.allowed_now == ["cancel"]
    assert not finance.applies("approve")  # no approver role: not offered at all
    approver = await judged(actors.approver)
    assert set(approver.allowed_now) == {"approve", "reject"}
    assert not approver.applies("submit") and not approver.applies("export")
    assert (await judged(actors.auditor)).allowed_now == []

    # The approver approves (1 of 2): approving again applies but is refused, and says why.
    preview = (await batch_rules.batch_actions(db, actors.approver, submitted)).approval
    assert (preview.number, preview.needed, preview.final) == (1, 2, False)
    await batches.approve_batch(db, actors.approver, submitted)
    again = await judged(actors.approver)
    assert again.applies("approve") and again.why_not("approve").key == "payment.already_approved"
    assert set(again.held_back) == {"approve"}
    # The second approver's preview is the final approval, and it is.
    second = await batch_rules.batch_actions(db, actors.approver2, submitted)
    assert second.actions.allowed("approve") and (second.approval.number, second.approval.final) == (2, True)
    result = await batches.approve_batch(db, actors.approver2, submitted)
    assert result.final and result.approval == 2
    assert (await judged(actors.finance)).allowed_now == ["export"]  # approved: finance sends it to the payer


async def test_the_preparer_with_the_approver_role_sees_approve_held_back(db, actors, submitted):
    async with db.write_engine.begin() as connection:
        await connection.execute(
            OperatorRole.__table__.insert().values(operator_id=actors.finance.operator_id, role="approver")
        )
    both = await operators.load_actor(db, "finance")
    judged = (await batch_rules.batch_actions(db, both, submitted)).actions
    assert judged.why_not("approve").key == "payment.preparer_cannot_approve"
    assert judged.why_not("reject").key == "payment.preparer_cannot_reject"
    assert set(judged.held_back) == {"approve", "reject"}


async def test_platform_staff_cannot_ask_about_another_platforms_batch(db, actors, submitted):
    from store.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        await batch_rules.batch_actions(db, actors.bukalapak, submitted)
