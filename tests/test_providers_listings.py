"""Courses and listings: course states, each listing rule refused with its reason and accepted
when satisfied, refusals in the audit log, the catalog check every enrollment goes through, and
the price-outlier report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from store.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from store.models import Course, CourseListing, Wave
from store.services import courses, providers
from store.services.catalog import enrollable_listing
from store.uow import read_session, unit_of_work
from tests import providers_support as ps


async def _listing_state(db, listing_id: int) -> tuple[str, int]:
    async with read_session(db) as session:
        listing = await session.get(CourseListing, listing_id)
        return listing.status, listing.commission_bp


async def _enrollable(db, listing_id: int):
    async with read_session(db) as session:
        return await enrollable_listing(session, listing_id)


# --- course states ----------------------------------------------------------------------------


async def test_course_moves_draft_submitted_approved_withdrawn(db, actors):
    provider_id = await ps.curated(db, actors)
    course = await courses.create_course(db, actors.tokopedia, provider_id, ps.course_fields())
    assert course.state == "draft"
    with pytest.raises(RuleViolation) as refused:
        await courses.approve_course(db, actors.curator, course.id)
    assert refused.value.key == "course.transition.approve"
    submitted = await courses.submit_course(db, actors.tokopedia, course.id, expected_version=course.version)
    with pytest.raises(PermissionDenied):
        await courses.approve_course(db, actors.tokopedia, course.id)
    approved = await courses.approve_course(db, actors.curator, course.id, expected_version=submitted.version)
    assert approved.state == "approved"
    with pytest.raises(InvalidInput):
        await courses.withdraw_course(db, actors.tokopedia, course.id, "")
    withdrawn = await courses.withdraw_course(db, actors.tokopedia, course.id, "Trainer left")
    assert (withdrawn.state, withdrawn.state_reason) == ("withdrawn", "Trainer left")
    actions = [event.action for event in await ps.events(db, "course.", course.id)]
    assert actions == ["course.created", "course.submitted", "course.approved", "course.withdrawn"]


async def test_rejecting_a_course_needs_a_reason_and_an_assessed_provider(db, actors):
    inventoried = await ps.inventoried(db, actors.tokopedia)
    early = await courses.create_course(db, actors.tokopedia, inventoried, ps.course_fields())
    await courses.submit_course(db, actors.tokopedia, early.id)
    with pytest.raises(RuleViolation) as refused:
        await courses.approve_course(db, actors.curator, early.id)
    assert refused.value.key == "course.provider_not_curated"
    provider_id = await ps.curated(db, actors)
    course = await courses.create_course(db, actors.tokopedia, provider_id, ps.course_fields())
    await courses.submit_course(db, actors.tokopedia, course.id)
    with pytest.raises(InvalidInput):
        await courses.reject_course(db, actors.curator, course.id, " ")
    rejected = await courses.reject_course(db, actors.curator, course.id, "Content copied from a free MOOC")
    assert rejected.state == "rejected"
    with pytest.raises(RuleViolation) as refused:
        await courses.submit_course(db, actors.tokopedia, course.id)
    assert refused.value.key == "course.transition.submit"


async def test_no_new_courses_for_a_rejected_provider(db, actors):
    provider_id = await ps.submitted(db, actors)
    from store.services import curation

    await curation.reject_provider(db, actors.curator, provider_id, "Fake deed")
    with pytest.raises(RuleViolation) as refused:
        await courses.create_course(db, actors.tokopedia, provider_id, ps.course_fields())
    assert refused.value.key == "course.provider_closed"


async def test_platform_staff_manage_only_their_providers_courses(db, actors):
    provider_id = await ps.inventoried(db, actors.tokopedia)
    with pytest.raises(PermissionDenied):
        await courses.create_course(db, actors.bukalapak, provider_id, ps.course_fields())


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("mode", "podcast", "input.course_mode"),
        ("hours", "0", "input.hours"),
        ("price", "-5", "input.money"),
        ("outside_price", "abc", "input.money"),
        ("title", "", "input.required"),
    ],
)
def test_bad_course_fields_are_refused(field, value, key):
    with pytest.raises(InvalidInput) as refused:
        ps.course_fields(**{field: value})
    assert refused.value.key == key


def test_outside_price_zero_means_free_elsewhere():
    fields = ps.course_fields(outside_price="0")
    assert fields.free_elsewhere and fields.outside_price_idr is None


@pytest.mark.parametrize(("typed", "bp"), [("15", 1500), ("12.5", 1250), ("12,75 %", 1275), ("0", 0)])
def test_commission_is_typed_as_a_percentage(typed, bp):
    assert courses.commission_bp(typed) == bp


@pytest.mark.parametrize("typed", ["", "abc", "101", "12.555"])
def test_bad_commission_is_refused(typed):
    with pytest.raises(InvalidInput):
        courses.commission_bp(typed)


# --- listing rules ----------------------------------------------------------------------------


async def test_listing_an_approved_course_records_the_commission(db, actors):
    provider_id = await ps.approved(db, actors)
    course_id = await ps.approved_course(db, actors, provider_id)
    tokopedia = await ps.platform_id(db, "tokopedia")
    listing = await courses.list_course(db, actors.tokopedia, course_id, tokopedia, "15")
    assert (listing.status, listing.commission_bp, listing.platform_code) == ("listed", 1500, "tokopedia")
    assert await _listing_state(db, listing.id) == ("listed", 1500)
    [event] = await ps.events(db, "listing.created")
    assert ps.changes(event)["after"]["commission_bp"] == 1500 and event.operator_name == "tokopedia"
    with pytest.raises(Conflict) as refused:
        await courses.list_course(db, actors.curator, course_id, tokopedia, "10")
    assert refused.value.key == "listing.exists"


async def test_platform_staff_list_only_on_their_own_platform(db, actors):
    provider_id = await ps.approved(db, actors)
    course_id = await ps.approved_course(db, actors, provider_id)
    with pytest.raises(PermissionDenied):
        await courses.list_course(db, actors.tokopedia, course_id, await ps.platform_id(db, "bukalapak"), "10")


async def _refused(db, actor, course_id, platform_id, commission, key):
    with pytest.raises(RuleViolation) as refused:
        await courses.list_course(db, actor, course_id, platform_id, commission)
    assert refused.value.key == key
    async with read_session(db) as session:
        listed = (await session.execute(select(CourseListing.id).where(CourseListing.course_id == course_id))).all()
    assert listed == []
    *_, event = await ps.events(db, "listing.refused", course_id)
    assert ps.changes(event)["details"]["rule"] == key and event.reason == key
    return refused.value


async def test_provider_not_approved_is_refused(db, actors):
    provider_id = await ps.curated(db, actors)
    course = await courses.create_course(db, actors.tokopedia, provider_id, ps.course_fields())
    await courses.submit_course(db, actors.tokopedia, course.id)
    await courses.approve_course(db, actors.curator, course.id)
    tokopedia = await ps.platform_id(db, "tokopedia")
    await _refused(db, actors.curator, course.id, tokopedia, "10", "listing.provider_not_approved")
    from store.services import curation

    await curation.approve_provider(db, actors.curator, provider_id)
    assert (await courses.list_course(db, actors.curator, course.id, tokopedia, "10")).status == "listed"


async def test_course_not_approved_is_refused(db, actors):
    provider_id = await ps.approved(db, actors)
    course = await courses.create_course(db, actors.tokopedia, provider_id, ps.course_fields())
    tokopedia = await ps.platform_id(db, "tokopedia")
    await _refused(db, actors.tokopedia, course.id, tokopedia, "10", "listing.course_not_approved")


async def test_price_above_the_training_balance_is_refused(db, actors):
    provider_id = await ps.approved(db, actors)
    tokopedia = await ps.platform_id(db, "tokopedia")
    # No wave on record: the 2023 scheme's Rp3.500.000 applies.
    dear = await ps.approved_course(db, actors, provider_id, price="3500001", outside_price="4000000")
    refusal = await _refused(db, actors.curator, dear, tokopedia, "10", "listing.price_above_balance")
    assert refusal.params["balance_idr"] == 3_500_000
    at_balance = await ps.approved_course(db, actors, provider_id, price="3500000", outside_price="")
    assert (await courses.list_course(db, actors.curator, at_balance, tokopedia, "10")).status == "listed"


async def test_the_balance_is_that_of_the_most_recent_wave(db, actors):
    async with unit_of_work(db, actors.admin) as uow:
        for number, balance, starts in ((1, 1_000_000, dt.date(2020, 4, 17)), (2, 1_200_000, dt.date(2020, 4, 25))):
            uow.session.add(Wave(
                number=number, year=2020, training_balance_idr=balance, incentive_idr=600_000, incentive_count=4,
                survey_idr=50_000, survey_count=3, quota=100, registration_opens=starts - dt.timedelta(days=6),
                registration_closes=starts - dt.timedelta(days=1), starts_on=starts, purchase_deadline_days=30,
                budget_idr=10**9,
            ))
    provider_id = await ps.approved(db, actors)
    tokopedia = await ps.platform_id(db, "tokopedia")
    dear = await ps.approved_course(db, actors, provider_id, price="1200001", outside_price="")
    refusal = await _refused(db, actors.curator, dear, tokopedia, "10", "listing.price_above_balance")
    assert refusal.params["balance_idr"] == 1_200_000
    fits = await ps.approved_course(db, actors, provider_id, price="1200000", outside_price="")
    assert (await courses.list_course(db, actors.curator, fits, tokopedia, "10")).status == "listed"


async def test_a_course_free_elsewhere_is_refused(db, actors):
    provider_id = await ps.approved(db, actors)
    tokopedia = await ps.platform_id(db, "tokopedia")
    free = await ps.approved_course(db, actors, provider_id, free_elsewhere=True, outside_price="")
    await _refused(db, actors.curator, free, tokopedia, "10", "listing.free_elsewhere")


async def test_price_above_the_outside_price_is_refused(db, actors):
    provider_id = await ps.approved(db, actors)
    tokopedia = await ps.platform_id(db, "tokopedia")
    dearer = await ps.approved_course(db, actors, provider_id, price="800000", outside_price="750000")
    refusal = await _refused(db, actors.curator, dearer, tokopedia, "10", "listing.price_above_outside")
    assert (refusal.params["price_idr"], refusal.params["outside_idr"]) == (800_000, 750_000)
    same = await ps.approved_course(db, actors, provider_id, price="750000", outside_price="750000")
    assert (await courses.list_course(db, actors.curator, same, tokopedia, "10")).status == "listed"


async def test_commission_above_the_platforms_cap_is_refused(db, actors):
    provider_id = await ps.approved(db, actors, platforms=("sisnaker",))  # Sisnaker's cap is 10 %
    course_id = await ps.approved_course(db, actors, provider_id, platform="sisnaker")
    sisnaker = await ps.platform_id(db, "sisnaker")
    refusal = await _refused(db, actors.sisnaker, course_id, sisnaker, "10.01", "listing.commission_above_cap")
    assert refusal.params["cap"] == "10 %"
    assert (await courses.list_course(db, actors.sisnaker, course_id, sisnaker, "10")).commission_bp == 1000


async def test_an_online_course_that_is_not_interactive_is_refused(db, actors):
    provider_id = await ps.approved(db, actors, offline=True)
    tokopedia = await ps.platform_id(db, "tokopedia")
    passive = await ps.approved_course(db, actors, provider_id, mode="self_paced", interactive=False)
    await _refused(db, actors.curator, passive, tokopedia, "10", "listing.not_interactive")
    offline = await ps.approved_course(db, actors, provider_id, mode="offline", interactive=False)
    assert (await courses.list_course(db, actors.curator, offline, tokopedia, "10")).status == "listed"


async def test_a_paid_course_of_the_platforms_own_group_is_refused_elsewhere_allowed(db, actors):
    # A provider of the GoTo group, proposed by Tokopedia (GoTo) and Bukalapak.
    provider_id = await ps.approved(db, actors, platforms=("tokopedia", "bukalapak"), group="goto")
    course_id = await ps.approved_course(db, actors, provider_id)
    tokopedia = await ps.platform_id(db, "tokopedia")
    refusal = await _refused(db, actors.tokopedia, course_id, tokopedia, "10", "listing.cross_selling")
    assert refusal.params["platform"] == "Tokopedia"
    listing = await courses.list_course(db, actors.bukalapak, course_id, await ps.platform_id(db, "bukalapak"), "10")
    assert listing.status == "listed" and listing.platform_code == "bukalapak"


async def test_a_suspended_platform_takes_no_listings(db, actors):
    provider_id = await ps.approved(db, actors)
    course_id = await ps.approved_course(db, actors, provider_id)
    async with db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE platform SET status = 'suspended', status_reason = 'Audit' WHERE code = 'tokopedia'")
        )
    await _refused(db, actors.curator, course_id, await ps.platform_id(db, "tokopedia"), "10", "listing.platform_suspended")


# --- the catalog check of every enrollment ------------------------------------------------------


async def test_suspension_hides_the_providers_courses_from_new_enrollments(db, actors):
    provider_id = await ps.approved(db, actors)
    course_id = await ps.approved_course(db, actors, provider_id)
    listing = await courses.list_course(db, actors.tokopedia, course_id, await ps.platform_id(db, "tokopedia"), "12")
    offer = await _enrollable(db, listing.id)
    assert (offer.course_id, offer.price_idr, offer.commission_bp) == (course_id, 900_000, 1200)
    await providers.suspend_provider(db, actors.curator, provider_id, "Fake completions reported")
    with pytest.raises(RuleViolation) as refused:
        await _enrollable(db, listing.id)
    assert refused.value.key == "enrollment.provider_not_approved"
    await providers.reinstate_provider(db, actors.curator, provider_id, "Cleared after audit")
    assert (await _enrollable(db, listing.id)).listing_id == listing.id


async def test_withdrawing_a_course_delists_it_and_closes_enrollments(db, actors):
    provider_id = await ps.approved(db, actors, platforms=("tokopedia", "bukalapak"))
    course_id = await ps.approved_course(db, actors, provider_id)
    first = await courses.list_course(db, actors.curator, course_id, await ps.platform_id(db, "tokopedia"), "10")
    second = await courses.list_course(db, actors.curator, course_id, await ps.platform_id(db, "bukalapak"), "10")
    await courses.withdraw_course(db, actors.tokopedia, course_id, "Outdated content")
    assert await _listing_state(db, first.id) == ("delisted", 1000)
    assert await _listing_state(db, second.id) == ("delisted", 1000)
    with pytest.raises(RuleViolation) as refused:
        await _enrollable(db, first.id)
    assert refused.value.key == "enrollment.course_not_approved"
    assert len(await ps.events(db, "listing.delisted")) == 2


async def test_delisting_needs_a_reason_and_relisting_checks_the_rules_again(db, actors):
    provider_id = await ps.approved(db, actors)
    course_id = await ps.approved_course(db, actors, provider_id)
    tokopedia = await ps.platform_id(db, "tokopedia")
    listing = await courses.list_course(db, actors.tokopedia, course_id, tokopedia, "10")
    with pytest.raises(InvalidInput):
        await courses.delist(db, actors.tokopedia, listing.id, "")
    await courses.delist(db, actors.tokopedia, listing.id, "Platform stops selling it")
    with pytest.raises(RuleViolation) as refused:
        await _enrollable(db, listing.id)
    assert refused.value.key == "enrollment.course_not_listed"
    with pytest.raises(RuleViolation):
        await courses.list_course(db, actors.tokopedia, course_id, tokopedia, "16")
    again = await courses.list_course(db, actors.tokopedia, course_id, tokopedia, "11")
    assert (again.id, again.status, again.commission_bp) == (listing.id, "listed", 1100)


async def test_unknown_listing_and_course(db, actors):
    with pytest.raises(NotFound):
        await _enrollable(db, 999)
    with pytest.raises(NotFound):
        await courses.list_course(db, actors.curator, 999, 1, "10")


async def test_schema_refuses_a_delisting_without_reason(db, actors):
    provider_id = await ps.approved(db, actors)
    course_id = await ps.approved_course(db, actors, provider_id)
    await courses.list_course(db, actors.curator, course_id, await ps.platform_id(db, "tokopedia"), "10")
    async with db.engine.connect() as connection:
        with pytest.raises(Exception) as refused:
            await connection.execute(text("UPDATE course_listing SET status = 'delisted'"))
    assert "delisting_has_reason" in str(refused.value)


# --- price outliers ---------------------------------------------------------------------------


async def test_price_outliers_are_courses_far_above_similar_ones(db, actors):
    provider_id = await ps.approved(db, actors)
    other = await ps.approved(db, actors, platforms=("bukalapak",))
    for price in ("400000", "500000", "600000"):
        await ps.approved_course(db, actors, provider_id, category="Kuliner", mode="offline", price=price, outside_price="")
    dear = await ps.approved_course(
        db, actors, other, platform="bukalapak", category="kuliner", mode="offline", price="1500000", outside_price=""
    )
    # Same category but another mode: not similar, and too few to compare.
    await ps.approved_course(db, actors, provider_id, category="Kuliner", mode="webinar", price="3000000", outside_price="")
    report = await courses.price_outliers(db, actors.curator)
    assert [(row.course_id, row.median_idr, row.ratio_pct, row.similar) for row in report] == [(dear, 550_000, 272, 4)]
    assert await courses.price_outliers(db, actors.tokopedia) == []
    assert [row.course_id for row in await courses.price_outliers(db, actors.bukalapak)] == [dear]
    assert await courses.price_outliers(db, actors.curator, factor_pct=300) == []


async def test_withdrawn_courses_do_not_count_as_similar(db, actors):
    provider_id = await ps.approved(db, actors)
    ids = [
        await ps.approved_course(db, actors, provider_id, category="Las", mode="offline", price=p, outside_price="")
        for p in ("100000", "100000", "500000")
    ]
    assert [row.course_id for row in await courses.price_outliers(db, actors.curator)] == [ids[2]]
    await courses.withdraw_course(db, actors.curator, ids[0], "Duplicate")
    assert await courses.price_outliers(db, actors.curator) == []
    async with read_session(db) as session:
        assert (await session.get(Course, ids[0])).state == "withdrawn"


async def test_no_listing_above_the_program_maximum_commission(db, actors):
    """A platform whose cap is above the program's maximum (the maximum lowered since) still
    lists at most at the maximum; the database refuses the rest too."""
    from store.services import settings

    provider_id = await ps.approved(db, actors)
    course_id = await ps.approved_course(db, actors, provider_id)
    tokopedia = await ps.platform_id(db, "tokopedia")
    await settings.change(db, actors.admin, "platforms.max_commission_bp", 1000)
    with pytest.raises(RuleViolation) as refused:
        await courses.list_course(db, actors.tokopedia, course_id, tokopedia, "12")
    assert refused.value.key == "listing.commission_above_cap" and refused.value.params["cap"] == "10 %"
    listing = await courses.list_course(db, actors.tokopedia, course_id, tokopedia, "10")
    with pytest.raises(RuleViolation) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text("UPDATE course_listing SET commission_bp = 1800 WHERE id = :id"), {"id": listing.id})
    assert refused.value.key == "platforms.commission_above_program_max"
