"""A course's states (draft, submitted, approved or rejected, withdrawn), each move one audited transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import Course, CourseListing, CourseState, ListingStatus, Provider, ProviderState
from store.operation import get_held, hold, operation
from store.services import curation, providers
from store.services.courses.fields import CourseFields
from store.services.courses.views import CourseView, _course_view, _saved
from store.text import fold
from store.uow import UnitOfWork


explain_constraint("ck_course_decision_has_reason", "course.reason_required")


async def _course_for_change(uow: UnitOfWork, course_id: int, expected_version: int | None) -> tuple[Course, Provider]:
    course = await get_held(uow.session, Course, course_id)
    if course is None:
        raise NotFound("course.not_found", id=course_id)
    provider = await providers.provider_for_change(uow, course.provider_id)
    if expected_version is not None and course.version != expected_version:
        raise Conflict("record.changed")
    return course, provider


# Providers whose courses may still be added or changed (not rejected or suspended).
OPEN_PROVIDER_STATES = frozenset(
    {ProviderState.INVENTORIED, ProviderState.SUBMITTED, ProviderState.IN_CURATION, ProviderState.APPROVED}
)
# Course decisions belong to the provider's curation: a course is assessed once its provider is.
CURATED_PROVIDER_STATES = frozenset({ProviderState.IN_CURATION, ProviderState.APPROVED})


def _move(uow: UnitOfWork, course: Course, sources: set[CourseState], target: CourseState, action: str, reason: str = "") -> None:
    if course.state not in sources:
        raise RuleViolation(f"course.transition.{action}", state=course.state, title=course.title)
    reason = " ".join((reason or "").split())
    if target in (CourseState.REJECTED, CourseState.WITHDRAWN) and not reason:
        raise InvalidInput("input.required", field="reason")
    before = {"state": course.state, "state_reason": course.state_reason}
    course.state, course.state_reason = target, reason
    uow.audit(
        f"course.{target.value}", "course", course.id, before=before,
        after={"state": target.value, "state_reason": reason}, reason=reason,
    )


@operation
async def create_course(uow: UnitOfWork, provider_id: int, fields: CourseFields) -> CourseView:
    """A new course of the provider, as a draft."""
    uow.actor.require("course.edit")
    provider = await providers.provider_for_change(uow, provider_id)
    if provider.state not in OPEN_PROVIDER_STATES:
        raise RuleViolation("course.provider_closed", state=provider.state)
    course = Course(provider_id=provider_id, title_key=fold(fields.title), state=CourseState.DRAFT, **vars(fields))
    uow.session.add(course)
    await uow.session.flush()
    hold(uow.session, course, course.id)
    uow.audit(
        "course.created", "course", course.id, after=vars(fields) | {"provider_id": provider_id, "state": "draft"}
    )
    return _course_view(course)


@operation
async def submit_course(uow: UnitOfWork, course_id: int, *, expected_version: int | None = None) -> CourseView:
    uow.actor.require("course.edit")
    course, provider = await _course_for_change(uow, course_id, expected_version)
    if provider.state not in OPEN_PROVIDER_STATES:
        raise RuleViolation("course.provider_closed", state=provider.state)
    _move(uow, course, {CourseState.DRAFT}, CourseState.SUBMITTED, "submit")
    return await _saved(uow, course)


async def _course_to_decide(uow: UnitOfWork, course_id: int, expected_version: int | None) -> Course:
    uow.actor.require("course.decide")
    course, provider = await _course_for_change(uow, course_id, expected_version)
    await curation.require_independent(uow.session, uow.actor, provider)
    if provider.state not in CURATED_PROVIDER_STATES:
        raise RuleViolation("course.provider_not_curated", state=provider.state)
    return course


@operation
async def approve_course(uow: UnitOfWork, course_id: int, *, expected_version: int | None = None) -> CourseView:
    course = await _course_to_decide(uow, course_id, expected_version)
    _move(uow, course, {CourseState.SUBMITTED}, CourseState.APPROVED, "approve")
    return await _saved(uow, course)


@operation
async def reject_course(uow: UnitOfWork, course_id: int, reason: str, *, expected_version: int | None = None) -> CourseView:
    course = await _course_to_decide(uow, course_id, expected_version)
    _move(uow, course, {CourseState.SUBMITTED}, CourseState.REJECTED, "reject", reason)
    return await _saved(uow, course)


@operation
async def withdraw_course(uow: UnitOfWork, course_id: int, reason: str, *, expected_version: int | None = None) -> CourseView:
    """Approved -> withdrawn; its listings are delisted with the same reason."""
    uow.actor.require("course.edit")
    course, _provider = await _course_for_change(uow, course_id, expected_version)
    _move(uow, course, {CourseState.APPROVED}, CourseState.WITHDRAWN, "withdraw", reason)
    listings = (
        await uow.session.execute(
            select(CourseListing).where(
                col(CourseListing.course_id) == course_id, col(CourseListing.status) == ListingStatus.LISTED
            )
        )
    ).scalars()
    for listing in listings:
        _delist(uow, listing, course.state_reason)
    return await _saved(uow, course)


def _delist(uow: UnitOfWork, listing: CourseListing, reason: str) -> None:
    before = {"status": listing.status, "status_reason": listing.status_reason}
    listing.status, listing.status_reason = ListingStatus.DELISTED, reason
    uow.audit(
        "listing.delisted", "course_listing", listing.id, before=before,
        after={"status": "delisted", "status_reason": reason}, details={"course_id": listing.course_id}, reason=reason,
    )
