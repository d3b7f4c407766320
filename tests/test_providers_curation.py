"""Staged curation: stage order, weighted scores against thresholds, the versioned scheme, and
the independence of curators."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from store.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation
from store.models import Assessment, AssessmentScheme
from store.services import courses, curation, operators
from store.uow import read_session
from tests import providers_support as ps


def _rule(threshold: int, *weights: int) -> curation.StageRule:
    return curation.StageRule(
        "governance", threshold,
        tuple(curation.Indicator(f"i{n}", weight, f"I{n}", f"I{n}") for n, weight in enumerate(weights)),
    )


def test_weighted_score_against_the_threshold():
    rule = _rule(250, 3, 1)  # weights 3 and 1
    assert curation.stage_result(rule, {"i0": 3, "i1": 0}).score_centi == 225  # (9 + 0) / 4
    assert curation.stage_result(rule, {"i0": 3, "i1": 0}).passed is False
    assert curation.stage_result(rule, {"i0": 3, "i1": 1}).score_centi == 250  # reaches it exactly
    assert curation.stage_result(rule, {"i0": 3, "i1": 1}).passed is True


def test_live_outlook_settles_before_the_last_score():
    rule = _rule(300, 1, 1, 1)
    assert curation.stage_result(rule, {}).outlook == "open"
    assert curation.stage_result(rule, {"i0": 0, "i1": 0}).outlook == "fail"  # best: (0+0+4)/3 = 1.33
    assert curation.stage_result(rule, {"i0": 4, "i1": 4}).outlook == "open"  # worst 2.67 < 3.00 <= best
    settled = curation.stage_result(rule, {"i0": 4, "i1": 4, "i2": 1})
    assert settled.complete and settled.passed and settled.outlook == "pass"
    partial = curation.stage_result(rule, {"i0": 4})
    assert partial.passed is None and partial.score_centi == 400


def test_offline_providers_have_a_facilities_stage():
    assert curation.applicable_stages(False) == ("due_diligence", "governance", "course_assessment")
    assert curation.applicable_stages(True)[-1] == "facilities"


async def test_stages_are_scored_in_order(db, actors):
    provider_id = await ps.submitted(db, actors)
    with pytest.raises(RuleViolation) as refused:
        await curation.score_indicator(db, actors.curator, provider_id, "due_diligence", "legal_standing", 4)
    assert refused.value.key == "curation.not_in_curation"
    await curation.start_curation(db, actors.curator, provider_id)
    with pytest.raises(RuleViolation) as refused:
        await curation.score_indicator(db, actors.curator, provider_id, "governance", "organisation", 4)
    assert refused.value.key == "curation.stage_order"
    assert refused.value.params["earlier"] == "due_diligence"
    card = await ps.score_stage(db, actors.curator, provider_id, "due_diligence", 4)
    assert card.stage("due_diligence").result.passed is True
    assert card.stage("governance").open is True and card.stage("course_assessment").open is False


async def test_a_failed_stage_blocks_the_next_and_approval(db, actors):
    provider_id = await ps.submitted(db, actors)
    await curation.start_curation(db, actors.curator, provider_id)
    card = await ps.score_stage(db, actors.curator, provider_id, "due_diligence", 2)  # 2.00 < 3.00
    stage = card.stage("due_diligence")
    assert (stage.result.score_centi, stage.result.passed) == (200, False)
    with pytest.raises(RuleViolation) as refused:
        await curation.score_indicator(db, actors.curator, provider_id, "governance", "organisation", 4)
    assert refused.value.key == "curation.stage_order"
    with pytest.raises(RuleViolation) as refused:
        await curation.approve_provider(db, actors.curator, provider_id)
    assert refused.value.key == "curation.stage_not_passed"
    assert refused.value.params["stage"] == "due_diligence"
    async with read_session(db) as session:
        assessment = (await session.execute(select(Assessment).where(Assessment.provider_id == provider_id))).scalar_one()
    assert (assessment.score_centi, assessment.passed) == (200, False)
    assert assessment.completed_at is not None


async def test_rescoring_a_stage_can_make_it_pass(db, actors):
    provider_id = await ps.submitted(db, actors)
    await curation.start_curation(db, actors.curator, provider_id)
    await ps.score_stage(db, actors.curator, provider_id, "due_diligence", 2)
    # legal_standing (weight 3) and tax_compliance (weight 2) raised from 2 to 4:
    await curation.score_indicator(db, actors.curator, provider_id, "due_diligence", "legal_standing", 4)
    card = await curation.score_indicator(db, actors.curator, provider_id, "due_diligence", "tax_compliance", 4)
    result = card.stage("due_diligence").result
    assert result.score_centi == 311 and result.passed  # (3*4 + 2*4 + 2*2 + 1*2 + 1*2) / 9 = 3.11
    [*_, last] = await ps.events(db, "provider.scored", provider_id)
    assert ps.changes(last)["before"] == {"tax_compliance": 2} and ps.changes(last)["after"] == {"tax_compliance": 4}
    assert ps.changes(last)["details"]["stage_passed"] is True


async def test_approval_needs_the_facilities_stage_for_offline_providers(db, actors):
    provider_id = await ps.submitted(db, actors, offline=True)
    await curation.start_curation(db, actors.curator, provider_id)
    for stage in ("due_diligence", "governance", "course_assessment"):
        await ps.score_stage(db, actors.curator, provider_id, stage, 3)
    with pytest.raises(RuleViolation) as refused:
        await curation.approve_provider(db, actors.curator, provider_id)
    assert refused.value.params["stage"] == "facilities"
    await ps.score_stage(db, actors.curator, provider_id, "facilities", 3)
    assert await curation.approve_provider(db, actors.curator, provider_id) == "approved"
    [event] = await ps.events(db, "provider.approved")
    assert ps.changes(event)["details"]["stages"] == {
        "due_diligence": 300, "governance": 300, "course_assessment": 300, "facilities": 300,
    }


async def test_online_only_providers_cannot_be_scored_on_facilities(db, actors):
    provider_id = await ps.curated(db, actors)
    with pytest.raises(RuleViolation) as refused:
        await curation.score_indicator(db, actors.curator, provider_id, "facilities", "premises", 4)
    assert refused.value.key == "curation.stage_not_applicable"
    with pytest.raises(InvalidInput):
        await curation.score_indicator(db, actors.curator, provider_id, "due_diligence", "legal_standing", 5)
    with pytest.raises(InvalidInput):
        await curation.score_indicator(db, actors.curator, provider_id, "due_diligence", "no_such_indicator", 1)


async def test_approval_rechecks_documents_marked_invalid_during_due_diligence(db, actors):
    from store.services import providers

    provider_id = await ps.curated(db, actors)
    await providers.set_document(db, actors.curator, provider_id, "tax_status", "invalid", note="KSWP not valid")
    with pytest.raises(RuleViolation) as refused:
        await curation.approve_provider(db, actors.curator, provider_id)
    assert refused.value.key == "provider.documents_incomplete"


# --- the versioned scheme ---------------------------------------------------------------------


async def test_version_one_is_seeded_with_every_stage(db, actors):
    scheme = await curation.get_scheme(db, actors.curator)
    assert scheme.version == 1
    assert [rule.stage for rule in scheme.stages] == list(curation.STAGE_ORDER)
    assert all(rule.indicators and 0 < rule.threshold_centi <= 400 for rule in scheme.stages)


async def test_an_admin_change_is_a_new_version_and_assessments_keep_theirs(db, actors):
    started = await ps.submitted(db, actors)
    await curation.start_curation(db, actors.curator, started)
    await curation.score_indicator(db, actors.curator, started, "due_diligence", "legal_standing", 3)
    stages = curation.stages_json((await curation.get_scheme(db, actors.admin)).stages)
    stages["due_diligence"]["threshold_centi"] = 150
    with pytest.raises(PermissionDenied):
        await curation.change_scheme(db, actors.curator, stages)
    new = await curation.change_scheme(db, actors.admin, stages)
    assert new.version == 2
    [event] = await ps.events(db, "curation.scheme_changed")
    assert ps.changes(event)["after"] == {"version": 2} and event.operator_name == "admin"
    # The provider already in curation keeps version 1 (threshold 3.00) ...
    card = await ps.score_stage(db, actors.curator, started, "due_diligence", 2)
    assert card.scheme_version == 1 and card.stage("due_diligence").result.passed is False
    # ... a provider curated from now on uses version 2 (threshold 1.50).
    later = await ps.submitted(db, actors)
    await curation.start_curation(db, actors.curator, later)
    card = await ps.score_stage(db, actors.curator, later, "due_diligence", 2)
    assert card.scheme_version == 2 and card.stage("due_diligence").result.passed is True
    async with read_session(db) as session:
        versions = dict(
            (await session.execute(
                select(Assessment.provider_id, AssessmentScheme.version)
                .join(AssessmentScheme, AssessmentScheme.id == Assessment.scheme_id)
            )).all()
        )
    assert versions == {started: 1, later: 2}


async def test_tuning_one_threshold_or_weight_writes_the_next_version(db, actors):
    """The console's edits: one value at a time, typed as the admin sees it."""
    before = await curation.get_scheme(db, actors.admin)
    with pytest.raises(PermissionDenied):
        await curation.tune_scheme(db, actors.curator, 1, "governance", threshold="2.5")
    new = await curation.tune_scheme(db, actors.admin, 1, "governance", threshold="2,75")
    assert (new.version, new.rule("governance").threshold_centi) == (2, 275)
    first = before.rule("facilities").indicators[0]
    new = await curation.tune_scheme(db, actors.admin, 2, "facilities", indicator=first.code, weight="5")
    assert new.version == 3 and new.rule("facilities").indicators[0].weight == 5
    # Everything else is as it was.
    assert new.rule("governance").threshold_centi == 275
    assert new.rule("due_diligence") == before.rule("due_diligence")
    assert [event.operator_name for event in await ps.events(db, "curation.scheme_changed")] == ["admin", "admin"]


@pytest.mark.parametrize(
    ("change", "key", "field"),
    [
        (dict(threshold="4.5"), "input.threshold", "threshold"),
        (dict(threshold="tiga"), "input.threshold", "threshold"),
        (dict(indicator="legal_standing", weight="0"), "input.count_positive", "weight"),
        (dict(indicator="legal_standing", weight="-2"), "input.count", "weight"),
        (dict(indicator="no_such_indicator", weight="2"), "input.scheme", "scheme"),
    ],
)
async def test_a_mistyped_tuning_is_refused_and_writes_nothing(db, actors, change, key, field):
    with pytest.raises(InvalidInput) as refused:
        await curation.tune_scheme(db, actors.admin, 1, "due_diligence", **change)
    assert (refused.value.key, refused.value.params["field"]) == (key, field)
    assert (await curation.get_scheme(db, actors.admin)).version == 1


async def test_tuning_a_scheme_someone_else_changed_is_refused(db, actors):
    await curation.tune_scheme(db, actors.admin, 1, "governance", threshold="2")
    with pytest.raises(Conflict):
        await curation.tune_scheme(db, actors.admin, 1, "governance", threshold="3")  # still looking at v1
    assert (await curation.get_scheme(db, actors.admin)).rule("governance").threshold_centi == 200


@pytest.mark.parametrize(
    "breakage",
    [
        lambda s: s.pop("facilities"),
        lambda s: s["governance"].update(threshold_centi=401),
        lambda s: s["governance"]["indicators"][0].update(weight=0),
        lambda s: s["governance"]["indicators"].append(dict(s["governance"]["indicators"][0])),
        lambda s: s["governance"]["indicators"][0].update(label={"en": "Only English"}),
    ],
)
async def test_a_broken_scheme_is_refused(db, actors, breakage):
    stages = curation.stages_json((await curation.get_scheme(db, actors.admin)).stages)
    breakage(stages)
    with pytest.raises(InvalidInput) as refused:
        await curation.change_scheme(db, actors.admin, stages)
    assert refused.value.key == "input.scheme"
    assert (await curation.get_scheme(db, actors.admin)).version == 1


# --- independence -----------------------------------------------------------------------------


async def test_a_curator_affiliated_with_the_providers_group_may_not_assess_it(db, actors):
    provider_id = await ps.submitted(db, actors, platforms=("pintaria",), group="telkom")
    await curation.declare_affiliation(db, actors.admin, "curator", "telkom", "Former Telkom employee")
    with pytest.raises(RuleViolation) as refused:
        await curation.start_curation(db, actors.curator, provider_id)
    assert refused.value.key == "curation.curator_affiliated"
    assert refused.value.params["group"] == "Telkom Indonesia Group"
    assert await curation.curation_queue(db, actors.curator) == []
    await curation.declare_affiliation(db, actors.admin, "curator", None, "Cooling-off period over")
    assert await curation.start_curation(db, actors.curator, provider_id) == "in_curation"


async def test_a_curator_affiliated_with_the_proposing_platforms_group_may_not_assess(db, actors):
    provider_id = await ps.curated(db, actors, platforms=("skillacademy",))
    course = await courses.create_course(db, actors.skillacademy, provider_id, ps.course_fields())
    await courses.submit_course(db, actors.skillacademy, course.id)
    await curation.declare_affiliation(db, actors.admin, "curator", "ruangguru", "Shareholder")
    with pytest.raises(RuleViolation) as refused:
        await curation.approve_provider(db, actors.curator, provider_id)
    assert refused.value.key == "curation.curator_affiliated"
    with pytest.raises(RuleViolation):
        await curation.score_indicator(db, actors.curator, provider_id, "due_diligence", "references", 0)
    with pytest.raises(RuleViolation) as refused:
        await courses.approve_course(db, actors.curator, course.id)
    assert refused.value.key == "curation.curator_affiliated"
    [event] = await ps.events(db, "operator.affiliation_declared")
    assert event.reason == "Shareholder"


async def test_a_curator_scoped_to_a_platform_may_not_assess(db, actors):
    # The KPK finding: the proposing platform curating its own provider.
    own = await ps.submitted(db, actors, platforms=("tokopedia",))
    other = await ps.submitted(db, actors, platforms=("bukalapak",))
    tokopedia = await ps.platform_id(db, "tokopedia")
    async with db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE operator SET platform_id = :p WHERE username = 'curator'"), {"p": tokopedia}
        )
    scoped = await operators.load_actor(db, "curator")
    with pytest.raises(RuleViolation) as refused:
        await curation.start_curation(db, scoped, own)
    assert refused.value.key == "curation.curator_platform_scoped"
    with pytest.raises(PermissionDenied):
        await curation.start_curation(db, scoped, other)


async def test_only_an_admin_declares_affiliations(db, actors):
    with pytest.raises(PermissionDenied):
        await curation.declare_affiliation(db, actors.curator, "curator", "telkom", "Self-declared")


async def test_the_queue_lists_submitted_and_in_curation_oldest_first(db, actors):
    first = await ps.submitted(db, actors)
    await ps.inventoried(db, actors.tokopedia)
    second = await ps.submitted(db, actors, platforms=("bukalapak",))
    await curation.start_curation(db, actors.curator, second)
    await ps.approved(db, actors)
    queue = await curation.curation_queue(db, actors.curator)
    assert [(entry.provider_id, entry.state) for entry in queue] == [(first, "submitted"), (second, "in_curation")]
    with pytest.raises(PermissionDenied):
        await curation.curation_queue(db, actors.tokopedia)
