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


# --- training providers ---------------------------------------------------------------------


async def _provider_actions(db, actor, provider_id):
    from store.services.provider_file import provider_file

    return (await provider_file(db, actor, provider_id)).actions


async def test_submitting_a_provider_with_documents_missing_is_held_back_naming_them(db, actors):
    from store.services import providers
    from tests.providers_support import inventoried

    provider_id = await inventoried(db, actors.tokopedia, documents=("nib", "npwp", "deed", "tax_status"))
    judged = await _provider_actions(db, actors.tokopedia, provider_id)
    refusal = judged.why_not("submit")
    assert judged.applies("submit") and refusal.key == "provider.documents_incomplete"
    with pytest.raises(MitraError) as happened:
        await providers.submit_provider(db, actors.tokopedia, provider_id)
    assert happened.value.key == refusal.key and happened.value.params == refusal.params
    assert not judged.applies("approve")  # platform staff never decide


async def test_approving_a_provider_with_a_stage_below_its_threshold_is_held_back_with_the_score(db, actors):
    from store.services import curation
    from tests.providers_support import curated, score_stage, submitted

    provider_id = await submitted(db, actors)
    await curation.start_curation(db, actors.curator, provider_id)
    await score_stage(db, actors.curator, provider_id, "due_diligence", 2)  # 2.00 < 3.00
    judged = await _provider_actions(db, actors.curator, provider_id)
    refusal = judged.why_not("approve")
    assert refusal.key == "curation.stage_not_passed"
    assert (refusal.params["score"], refusal.params["threshold"]) == ("2.00", "3.00")
    assert judged.allowed("reject")
    with pytest.raises(MitraError) as happened:
        await curation.approve_provider(db, actors.curator, provider_id)
    assert (happened.value.key, happened.value.params) == (refusal.key, refusal.params)

    passing = await curated(db, actors, score=4, name="LPK Lulus Semua", nib="9120000000002")
    assert (await _provider_actions(db, actors.curator, passing)).allowed("approve")
    await curation.approve_provider(db, actors.curator, passing)


# --- platform applications --------------------------------------------------------------------


async def test_recommending_approval_is_refused_by_the_outcome_table_when_a_criterion_fails(db, actors):
    from store.services import applications
    from store.services.application_actions import judge_application
    from tests.application_support import set_verdicts, submit

    application_id = await submit(db, actors.reviewer)
    detail = await set_verdicts(db, actors.reviewer, application_id, "PPPPPFP")
    judged = judge_application(actors.reviewer, detail.state, detail.verdicts(), detail.recommended_by_id)
    assert judged.actions.allowed("recommend") and not judged.actions.applies("decide")
    assert judged.outcomes["approve"].key == "application.approve_needs_all_pass"
    assert judged.outcomes["reject"] is None
    with pytest.raises(MitraError) as happened:
        await applications.recommend(db, actors.reviewer, application_id, "approve", "looks fine",
                                     expected_version=detail.version)
    assert happened.value.key == judged.outcomes["approve"].key


async def test_who_recommended_sees_decide_held_back_and_a_decided_application_offers_nothing(db, actors):
    from store.services import applications
    from store.services.application_actions import judge_application
    from tests.application_support import recommended

    async with db.write_engine.begin() as connection:  # an approver who also reviews
        await connection.execute(
            OperatorRole.__table__.insert().values(operator_id=actors.approver2.operator_id, role="reviewer")
        )
    both = await operators.load_actor(db, "approver2")
    application_id = await recommended(db, both, "PPPPPPP", "reject", reason="criteria_not_met")
    detail = await applications.get_application(db, both, application_id)
    mine = judge_application(both, detail.state, detail.verdicts(), detail.recommended_by_id)
    assert mine.actions.why_not("decide").key == "application.same_person"
    with pytest.raises(MitraError) as happened:
        await applications.decide(db, both, application_id, "reject", "mine", expected_version=detail.version,
                                  reject_reason="criteria_not_met")
    assert happened.value.key == "application.same_person"
    other = judge_application(actors.approver, detail.state, detail.verdicts(), detail.recommended_by_id)
    assert other.actions.allowed("decide") and other.actions.allowed("send_back")
    await applications.decide(db, actors.approver, application_id, "reject", "agreed", expected_version=detail.version,
                              reject_reason="criteria_not_met")
    decided = await applications.get_application(db, actors.approver, application_id)
    after = judge_application(actors.approver, decided.state, decided.verdicts(), decided.recommended_by_id)
    assert after.actions.allowed_now == [] and after.actions.why_not("decide").key == "application.decided"
