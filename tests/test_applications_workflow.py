"""The application workflow in the store: every transition allowed and refused, on both back ends."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, text

from store.errors import Conflict, InvalidInput, PermissionDenied, RuleViolation
from store.models import (
    AuditEvent,
    ObligationItem,
    Platform,
    PlatformApplication,
    Provider,
)
from store.services import applications, operators, platforms
from store.services.application_intake import submit_application
from store.uow import read_session, unit_of_work
from tests.application_support import recommended, sample_input, set_verdicts, submit

TODAY = dt.date(2026, 11, 30)


async def _events(db, application_id: int) -> list[AuditEvent]:
    async with read_session(db) as session:
        rows = await session.execute(
            select(AuditEvent)
            .where(AuditEvent.entity == "platform_application", AuditEvent.entity_id == str(application_id))
            .order_by(AuditEvent.id)
        )
        return list(rows.scalars())


async def _row(db, model, key):
    async with read_session(db) as session:
        return await session.get(model, key)


# --- intake and suggestions -------------------------------------------------------------------


async def test_submission_records_seven_criteria_with_suggestions(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await applications.get_application(db, actors.reviewer, application_id)
    assert detail.state == "submitted"
    assert [c.number for c in detail.criteria] == [1, 2, 3, 4, 5, 6, 7]
    assert {c.number: c.suggested for c in detail.criteria} == {
        1: "pass", 2: "pass", 3: None, 4: None, 5: "pass", 6: None, 7: "pass",
    }
    assert all(c.verdict == "unchecked" for c in detail.criteria)
    assert len(detail.provinces) == 38 and detail.nib.isdigit() and detail.npwp == "012345678901000"
    [event] = await _events(db, application_id)
    assert event.action == "application.submitted" and event.operator_name == "reviewer"
    assert json.loads(event.changes)["after"]["legal_form"] == "pt"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # CV (another private form), 25 provinces, no providers at all.
        ({"legal_form": "other_private", "provinces": " ".join(f"{c}" for c in
          ["11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35", "36",
           "51", "52", "53", "61", "62", "63", "64", "65", "71"]),
          "own_group_providers": "0", "third_party_providers": "0"},
         {1: "fail", 2: "fail", 5: "fail", 7: "fail"}),
        # Exactly 26 provinces is national coverage; only its own group's courses: no marketplace.
        ({"legal_form": "bumd", "provinces": " ".join(
            ["11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35", "36",
             "51", "52", "53", "61", "62", "63", "64", "65", "71", "72"]),
          "own_group_providers": "3", "third_party_providers": "0"},
         {1: "pass", 2: "pass", 5: "pass", 7: "fail"}),
        ({"legal_form": "government"}, {1: "pass", 2: "pass", 5: "pass", 7: "pass"}),
    ],
)
async def test_suggested_verdicts_follow_the_data(db, actors, overrides, expected):
    application_id = await submit(db, actors.reviewer, **overrides)
    detail = await applications.get_application(db, actors.reviewer, application_id)
    assert {c.number: c.suggested for c in detail.criteria if c.suggested} == expected


@pytest.mark.parametrize(
    ("overrides", "field", "key"),
    [
        ({"nib": "12345"}, "nib", "input.nib"),
        ({"npwp": "12.34"}, "npwp", "input.npwp"),
        ({"portal_url": "not a url"}, "portal_url", "input.url"),
        ({"provinces": "31 99"}, "provinces", "input.province"),
        ({"legal_name": "  "}, "legal_name", "input.required"),
        ({"legal_form": "cv"}, "legal_form", "input.legal_form"),
        ({"third_party_providers": "many"}, "third_party_providers", "input.count"),
        ({"ownership_group": "nosuch"}, "ownership_group", "application.group_unknown"),
        ({"submitted_on": "2999-01-01"}, "submitted_on", "input.date_future"),
    ],
)
async def test_malformed_input_is_refused_naming_the_field(db, actors, overrides, field, key):
    with pytest.raises(InvalidInput) as refused:
        await submit(db, actors.reviewer, **overrides)
    assert (refused.value.key, refused.value.params["field"]) == (key, field)
    async with read_session(db) as session:
        assert (await session.execute(select(PlatformApplication.id))).first() is None


async def test_intake_needs_the_intake_permission(db, actors):
    for name in ("approver", "auditor", "tokopedia"):
        with pytest.raises(PermissionDenied):
            await submit(db, actors[name])
    assert await submit(db, actors.admin) > 0


async def test_a_company_has_one_application_under_way(db, actors):
    await submit(db, actors.reviewer, nib="9100000000001")
    with pytest.raises(Conflict) as refused:
        await submit(db, actors.reviewer, nib="9100000000001")
    assert refused.value.key == "application.already_open" and refused.value.params["field"] == "nib"


async def test_the_open_nib_index_refuses_a_second_open_application_as_the_rule(db, actors):
    application_id = await submit(db, actors.reviewer, nib="9100000000002")
    # Bypass the service: the partial unique index says the same rule.
    with pytest.raises(Conflict) as refused:
        async with unit_of_work(db, actors.reviewer) as uow:
            original = await uow.session.get(PlatformApplication, application_id)
            uow.session.add(PlatformApplication(
                legal_name="x", brand_name="x", legal_form="pt", nib=original.nib, npwp=original.npwp,
                submitted_on=TODAY,
            ))
    assert refused.value.key == "application.already_open"


# --- review -----------------------------------------------------------------------------------


async def test_first_verdict_starts_the_review_and_every_verdict_is_audited(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await applications.get_application(db, actors.reviewer, application_id)
    detail = await applications.set_verdict(
        db, actors.reviewer, application_id, 3, "pass", expected_version=detail.version
    )
    assert detail.state == "in_review"
    assert detail.criteria[2].verdict == "pass" and detail.criteria[2].set_by == "reviewer"
    actions = [event.action for event in await _events(db, application_id)]
    assert actions == ["application.submitted", "application.review_started", "application.criterion_set"]


async def test_overriding_a_suggestion_needs_a_note_and_is_audited_as_override(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await applications.get_application(db, actors.reviewer, application_id)
    with pytest.raises(RuleViolation) as refused:
        await applications.set_verdict(db, actors.reviewer, application_id, 2, "fail", "", expected_version=detail.version)
    assert refused.value.key == "application.note_required"
    detail = await applications.set_verdict(
        db, actors.reviewer, application_id, 2, "fail", "Users in 12 provinces only, per the data request",
        expected_version=detail.version,
    )
    assert detail.criteria[1].overridden
    last = (await _events(db, application_id))[-1]
    changes = json.loads(last.changes)
    assert changes["details"] == {"criterion": 2, "suggested": "pass", "override": True}
    assert changes["after"]["verdict"] == "fail"


async def test_a_stale_version_is_refused_as_changed_by_someone_else(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await applications.get_application(db, actors.reviewer, application_id)
    await applications.set_verdict(db, actors.reviewer, application_id, 3, "pass", expected_version=detail.version)
    with pytest.raises(Conflict) as refused:
        await applications.set_verdict(db, actors.reviewer, application_id, 4, "pass", expected_version=detail.version)
    assert refused.value.key == "record.changed"


async def test_needs_information_round_trip(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await set_verdicts(db, actors.reviewer, application_id, "PN")
    detail = await applications.request_information(
        db, actors.reviewer, application_id, "Send the list of provinces with users", expected_version=detail.version
    )
    assert detail.state == "needs_info"
    with pytest.raises(RuleViolation) as refused:
        await applications.set_verdict(db, actors.reviewer, application_id, 3, "pass", expected_version=detail.version)
    assert refused.value.key == "application.review_closed"
    detail = await applications.record_answer(
        db, actors.reviewer, application_id, "List received: 30 provinces", expected_version=detail.version
    )
    assert detail.state == "in_review"
    events = await _events(db, application_id)
    assert [e.action for e in events][-2:] == ["application.info_requested", "application.info_received"]
    assert events[-1].reason == "List received: 30 provinces"


@pytest.mark.parametrize(
    ("action", "state_letters", "key"),
    [
        ("recommend", None, "application.not_in_review"),  # still submitted
        ("request_information", None, "application.not_in_review"),
        ("record_answer", "P", "application.not_waiting"),  # in review
        ("send_back", "P", "application.not_recommended"),
        ("decide", "P", "application.not_recommended"),
    ],
)
async def test_transitions_from_the_wrong_state_are_refused(db, actors, action, state_letters, key):
    application_id = await submit(db, actors.reviewer)
    detail = await applications.get_application(db, actors.reviewer, application_id)
    if state_letters:
        detail = await set_verdicts(db, actors.reviewer, application_id, state_letters)
    actor = actors.approver if action in ("send_back", "decide") else actors.reviewer
    call = {
        "recommend": lambda: applications.recommend(
            db, actor, application_id, "approve", "ok", expected_version=detail.version),
        "request_information": lambda: applications.request_information(
            db, actor, application_id, "more", expected_version=detail.version),
        "record_answer": lambda: applications.record_answer(
            db, actor, application_id, "answer", expected_version=detail.version),
        "send_back": lambda: applications.send_back(db, actor, application_id, "why", expected_version=detail.version),
        "decide": lambda: applications.decide(
            db, actor, application_id, "reject", "why", expected_version=detail.version, reject_reason="other"),
    }[action]
    with pytest.raises(RuleViolation) as refused:
        await call()
    assert refused.value.key == key


async def test_wrong_roles_are_refused(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await applications.get_application(db, actors.reviewer, application_id)
    with pytest.raises(PermissionDenied):
        await applications.set_verdict(db, actors.approver, application_id, 3, "pass", expected_version=detail.version)
    with pytest.raises(PermissionDenied):
        await applications.get_application(db, actors.tokopedia, application_id)
    recommended_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve")
    version = (await applications.get_application(db, actors.reviewer, recommended_id)).version
    for name in ("reviewer", "admin", "auditor"):
        with pytest.raises(PermissionDenied):
            await applications.decide(db, actors[name], recommended_id, "approve", "ok", expected_version=version)
    with pytest.raises(PermissionDenied):
        await applications.recommend(db, actors.admin, application_id, "reject", "no", expected_version=detail.version)


# --- recommendation and decision ---------------------------------------------------------------


async def test_approve_flow_creates_the_platform_and_its_obligations(db, actors):
    application_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve", brand_name="Kelas Contoh")
    detail = await applications.get_application(db, actors.approver, application_id)
    assert detail.state == "recommended" and detail.recommended_by == "reviewer"
    preview = await applications.decision_preview(db, actors.approver, application_id, "approve", today=TODAY)
    assert preview.terms.code == "kelascontoh"
    assert preview.terms.agreement_number == "PKS-PMO/009/XI/2026"
    assert preview.terms.commission_cap_bp == 1500
    detail = await applications.decide(
        db, actors.approver, application_id, "approve", "All seven criteria verified",
        expected_version=detail.version, terms=preview.terms, today=TODAY,
    )
    assert detail.state == "approved" and detail.decided_by == "approver" and detail.platform_code == "kelascontoh"
    async with read_session(db) as session:
        platform = (await session.execute(select(Platform).where(Platform.code == "kelascontoh"))).scalar_one()
        items = (await session.execute(select(ObligationItem).where(ObligationItem.platform_id == platform.id))).scalars().all()
    assert (platform.status, platform.agreement_date, platform.legal_name) == ("active", TODAY, "PT Kelas Contoh Digital")
    assert len(items) == 10 and {i.period_start for i in items} == {dt.date(2026, 11, 1)}
    assert {i.due_on for i in items} == {dt.date(2026, 12, 10)}
    actions = [event.action for event in await _events(db, application_id)]
    assert actions == [
        "application.submitted", "application.review_started", *["application.criterion_set"] * 7,
        "application.recommended", "application.decided",
    ]
    decided = json.loads((await _events(db, application_id))[-1].changes)
    assert decided["details"]["outcome"] == "approve" and decided["details"]["platform_code"] == "kelascontoh"
    async with read_session(db) as session:
        onboarded = (await session.execute(
            select(AuditEvent.action).where(AuditEvent.entity == "platform", AuditEvent.entity_id == str(platform.id))
        )).scalars().all()
    assert onboarded == ["platform.onboarded", "obligation.periods_opened"]


async def test_an_approval_takes_the_terms_of_the_signed_agreement(db, actors):
    """Typed over the proposed terms: an earlier agreement date opens reports from its month."""
    application_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve", brand_name="Kelas Tanda")
    preview = await applications.decision_preview(db, actors.approver, application_id, "approve", today=TODAY)
    typed = dict(code="KelasTanda", agreement_number="PKS-PMO/123/X/2026", agreement_date="2026-10-28",
                 commission_cap="12,5")
    for field, bad in (("code", "kelas tanda!"), ("agreement_number", " "), ("agreement_date", "28-10-2026"),
                       ("commission_cap", "101")):
        with pytest.raises(InvalidInput) as refused:
            platforms.edited_terms(preview.terms, **{**typed, field: bad})
        assert refused.value.params["field"] == field
    terms = platforms.edited_terms(preview.terms, **typed)
    detail = await applications.get_application(db, actors.approver, application_id)
    await applications.decide(db, actors.approver, application_id, "approve", "Signed on 28 October",
                              expected_version=detail.version, terms=terms, today=TODAY)
    async with read_session(db) as session:
        platform = (await session.execute(select(Platform).where(Platform.code == "kelastanda"))).scalar_one()
        starts = (await session.execute(
            select(ObligationItem.period_start).where(ObligationItem.platform_id == platform.id).distinct()
        )).scalars().all()
    assert (platform.name, platform.agreement_number, platform.agreement_date, platform.commission_cap_bp) == (
        "Kelas Tanda", "PKS-PMO/123/X/2026", dt.date(2026, 10, 28), 1250)
    assert sorted(starts) == [dt.date(2026, 10, 1), dt.date(2026, 11, 1)]


async def test_the_recommending_reviewer_cannot_decide(db, actors, backend):
    await operators.create_operator(db, actors.admin, "both", "demo", ["reviewer", "approver"])
    both = await operators.load_actor(db, "both")
    application_id = await recommended(db, both, "PPPPPPP", "approve")
    version = (await applications.get_application(db, both, application_id)).version
    with pytest.raises(RuleViolation) as refused:
        await applications.decide(db, both, application_id, "approve", "mine", expected_version=version)
    assert refused.value.key == "application.same_person"
    with pytest.raises(RuleViolation) as refused:
        await applications.decision_preview(db, both, application_id, "approve")
    assert refused.value.key == "application.same_person"


async def test_the_maker_checker_constraint_reads_as_the_rule(db, actors):
    application_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve")
    with pytest.raises(RuleViolation) as refused:
        async with unit_of_work(db, actors.reviewer) as uow:
            app = await uow.session.get(PlatformApplication, application_id)
            app.decided_by = actors.reviewer.operator_id
    assert refused.value.key == "application.same_person"


async def test_approval_needs_every_criterion_to_pass(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await set_verdicts(db, actors.reviewer, application_id, "PPFPPPP")
    with pytest.raises(RuleViolation) as refused:
        await applications.recommend(db, actors.reviewer, application_id, "approve", "ok", expected_version=detail.version)
    assert refused.value.key == "application.approve_needs_all_pass" and refused.value.params["criteria"] == "3"
    # Recommended for rejection, the approver still cannot approve it.
    await applications.recommend(
        db, actors.reviewer, application_id, "reject", "no payment integration",
        expected_version=detail.version, reject_reason="criteria_not_met",
    )
    version = (await applications.get_application(db, actors.approver, application_id)).version
    with pytest.raises(RuleViolation) as refused:
        await applications.decide(db, actors.approver, application_id, "approve", "override", expected_version=version)
    assert refused.value.key == "application.approve_needs_all_pass"


async def test_reclassify_is_refused_when_criterion_7_passes(db, actors):
    application_id = await submit(db, actors.reviewer)
    detail = await set_verdicts(db, actors.reviewer, application_id, "PPPPPPP")
    with pytest.raises(RuleViolation) as refused:
        await applications.recommend(db, actors.reviewer, application_id, "reclassify", "x", expected_version=detail.version)
    assert refused.value.key == "application.reclassify_needs_no_marketplace"
    detail = await applications.set_verdict(
        db, actors.reviewer, application_id, 6, "fail", "deed missing", expected_version=detail.version
    )
    detail = await applications.set_verdict(
        db, actors.reviewer, application_id, 7, "fail", "sells only its own courses", expected_version=detail.version
    )
    with pytest.raises(RuleViolation) as refused:
        await applications.recommend(db, actors.reviewer, application_id, "reclassify", "x", expected_version=detail.version)
    assert refused.value.key == "application.reclassify_needs_provider_criteria"


async def test_reclassification_creates_an_inventoried_provider(db, actors):
    application_id = await recommended(
        db, actors.reviewer, "PPPPPPF", "reclassify", brand_name="BelajarKu", legal_name="PT BelajarKu Edukasi",
        third_party_providers="0", nib="9100000000077", ownership_group="ruangguru",
    )
    version = (await applications.get_application(db, actors.approver, application_id)).version
    preview = await applications.decision_preview(db, actors.approver, application_id, "reclassify")
    assert preview.provider_name == "BelajarKu" and preview.terms is None
    detail = await applications.decide(
        db, actors.approver2, application_id, "reclassify", "Sells only its own courses: a training provider",
        expected_version=version,
    )
    assert detail.state == "reclassified" and detail.provider_id is not None
    provider = await _row(db, Provider, detail.provider_id)
    assert (provider.name, provider.state, provider.nib, provider.legal_form) == (
        "BelajarKu", "inventoried", "9100000000077", "pt")
    assert provider.ownership_group_id is not None and provider.created_by == actors.approver2.operator_id
    async with read_session(db) as session:
        assert (await session.execute(select(func.count(Platform.id)))).scalar_one() == 8


async def test_rejection_needs_a_reason_code_and_a_note(db, actors):
    application_id = await recommended(db, actors.reviewer, "FPPPPPP", "reject", reason="criteria_not_met")
    version = (await applications.get_application(db, actors.approver, application_id)).version
    with pytest.raises(InvalidInput) as refused:
        await applications.decide(db, actors.approver, application_id, "reject", "no", expected_version=version)
    assert refused.value.key == "input.required" and refused.value.params["field"] == "reason"
    with pytest.raises(InvalidInput) as refused:
        await applications.decide(
            db, actors.approver, application_id, "reject", "no", expected_version=version, reject_reason="bored"
        )
    assert refused.value.key == "application.reason_unknown"
    with pytest.raises(InvalidInput) as refused:
        await applications.decide(
            db, actors.approver, application_id, "reject", " ", expected_version=version,
            reject_reason="criteria_not_met",
        )
    assert refused.value.params["field"] == "note"
    detail = await applications.decide(
        db, actors.approver, application_id, "reject", "A CV is not eligible", expected_version=version,
        reject_reason="criteria_not_met",
    )
    assert (detail.state, detail.reject_reason) == ("rejected", "criteria_not_met")


async def test_an_approver_can_send_a_recommendation_back_to_review(db, actors):
    application_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve")
    version = (await applications.get_application(db, actors.approver, application_id)).version
    detail = await applications.send_back(
        db, actors.approver, application_id, "Check the payment integration again", expected_version=version
    )
    assert (detail.state, detail.recommendation, detail.recommended_by) == ("in_review", None, "")


# --- decided applications and re-applications ---------------------------------------------------


async def test_decided_applications_are_immutable(db, actors):
    application_id = await recommended(db, actors.reviewer, "FPPPPPP", "reject", reason="criteria_not_met")
    version = (await applications.get_application(db, actors.approver, application_id)).version
    detail = await applications.decide(
        db, actors.approver, application_id, "reject", "Not a PT", expected_version=version,
        reject_reason="criteria_not_met",
    )
    with pytest.raises(RuleViolation) as refused:
        await applications.set_verdict(db, actors.reviewer, application_id, 1, "pass", expected_version=detail.version)
    assert refused.value.key == "application.decided"
    with pytest.raises(RuleViolation) as refused:
        await applications.decide(
            db, actors.approver2, application_id, "reject", "again", expected_version=detail.version,
            reject_reason="other",
        )
    assert refused.value.key == "application.decided"
    # Underneath the services, the database refuses too.
    for statement in (
        "UPDATE platform_application SET decision_note = 'edited' WHERE id = :id",
        "UPDATE application_criterion SET verdict = 'pass' WHERE application_id = :id",
        "DELETE FROM platform_application WHERE id = :id",
    ):
        with pytest.raises(RuleViolation) as refused:
            async with unit_of_work(db, actors.admin) as uow:
                await uow.session.execute(text(statement), {"id": application_id})
        assert refused.value.key == "application.decided", statement
    after = await applications.get_application(db, actors.auditor, application_id)
    assert after == detail


async def test_a_rejected_company_applies_again_linked_to_its_history(db, actors):
    first = await recommended(db, actors.reviewer, "FPPPPPP", "reject", reason="criteria_not_met",
                              nib="9100000000055", legal_form="other_private", legal_name="CV Cakap Kerja")
    version = (await applications.get_application(db, actors.approver, first)).version
    await applications.decide(db, actors.approver, first, "reject", "A CV is not eligible", expected_version=version,
                              reject_reason="criteria_not_met")
    second = await submit_application(
        db, actors.reviewer, sample_input(nib="9100000000055", legal_name="PT Cakap Kerja Mandiri")
    )
    detail = await applications.get_application(db, actors.reviewer, second)
    assert detail.previous_application_id == first
    history = await applications.application_history(db, actors.reviewer, second)
    assert [(e.entity_id, e.action) for e in history][0] == (str(first), "application.submitted")
    assert (str(first), "application.decided") in [(e.entity_id, e.action) for e in history]
    assert history[-1].entity_id == str(second)


async def test_an_existing_platform_cannot_apply_again(db, actors):
    application_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve", nib="9100000000066")
    version = (await applications.get_application(db, actors.approver, application_id)).version
    await applications.decide(db, actors.approver, application_id, "approve", "ok", expected_version=version)
    with pytest.raises(RuleViolation) as refused:
        await submit(db, actors.reviewer, nib="9100000000066")
    assert refused.value.key == "application.already_platform" and refused.value.params["code"] == "kelascontoh"


# --- reading ----------------------------------------------------------------------------------


async def test_queue_filters_by_state_and_name_and_sorts(db, actors):
    await submit(db, actors.reviewer, brand_name="Zeta Kursus", submitted_on="2026-09-01")
    await submit(db, actors.reviewer, brand_name="Alfa Belajar", submitted_on="2026-10-01")
    await recommended(db, actors.reviewer, "PPPPPPP", "approve", brand_name="Beta Kelas", submitted_on="2026-08-01")
    assert applications.waiting_states(actors.reviewer) == {"submitted", "in_review", "needs_info"}
    assert applications.waiting_states(actors.approver) == {"recommended"}
    assert applications.waiting_states(actors.auditor) is None
    page = await applications.list_applications(db, actors.reviewer, states=applications.waiting_states(actors.reviewer))
    assert [row.brand_name for row in page.rows] == ["Zeta Kursus", "Alfa Belajar"]
    page = await applications.list_applications(db, actors.reviewer, sort="name")
    assert [row.brand_name for row in page.rows] == ["Alfa Belajar", "Beta Kelas", "Zeta Kursus"]
    page = await applications.list_applications(db, actors.approver, states=frozenset({"recommended"}))
    assert [(row.brand_name, row.passed, row.recommendation) for row in page.rows] == [("Beta Kelas", 7, "approve")]
    page = await applications.list_applications(db, actors.reviewer, name="al")
    assert [row.brand_name for row in page.rows] == ["Alfa Belajar"]
    first = await applications.list_applications(db, actors.reviewer, sort="name", limit=2)
    rest = await applications.list_applications(db, actors.reviewer, sort="name", limit=2, cursor=first.next_cursor)
    assert [row.brand_name for row in first.rows + rest.rows] == ["Alfa Belajar", "Beta Kelas", "Zeta Kursus"]
    assert rest.next_cursor is None


async def test_terms_above_the_program_maximum_or_dated_in_the_future_are_refused(db, actors):
    """A 20 % cap typed by an approver, or an agreement dated after today, never becomes a platform."""
    application_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve", brand_name="Kelas Lebih")
    preview = await applications.decision_preview(db, actors.approver, application_id, "approve", today=TODAY)
    typed = dict(code="kelaslebih", agreement_number="PKS-PMO/124/X/2026", agreement_date="2026-10-28",
                 commission_cap="20")
    for terms, key in (
        (platforms.edited_terms(preview.terms, **typed), "platforms.cap_above_program_max"),
        (platforms.edited_terms(preview.terms, **{**typed, "commission_cap": "10",
                                                  "agreement_date": (TODAY + dt.timedelta(days=30)).isoformat()}),
         "platforms.agreement_in_future"),
    ):
        detail = await applications.get_application(db, actors.approver, application_id)
        with pytest.raises(InvalidInput) as refused:
            await applications.decide(db, actors.approver, application_id, "approve", "Signed",
                                      expected_version=detail.version, terms=terms, today=TODAY)
        assert refused.value.key == key
    async with read_session(db) as session:
        assert (await session.execute(select(Platform).where(Platform.code == "kelaslebih"))).first() is None
    # The database refuses a cap above the maximum, whoever writes it.
    with pytest.raises(RuleViolation) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text("UPDATE platform SET commission_cap_bp = 2000 WHERE code = 'tokopedia'"))
    assert refused.value.key == "platforms.commission_above_program_max"
