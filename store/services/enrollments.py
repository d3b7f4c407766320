"""Enrollments: assigning a participant to a listed course, progress, completion, cancellation.

Rules (each refusal names its reason):
- the listing must be open to purchases (store/services/catalog.py: approved provider and
  course, listed, active platform);
- the participant must hold an active card (selected, in training or completed);
- courses are taken one after another: no other enrollment assigned or in progress (also a
  partial UNIQUE index);
- the price may not exceed the remaining balance (also a CHECK on the balance).
The price is deducted at assignment and refunded when an enrollment is cancelled before it
started. A completion needs a certificate number; one faster than the course's hours is accepted
but flagged for review.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Case, Exists, Select, and_, case, exists, func, label, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import (
    ACTIVE_ENROLLMENT,
    Course,
    CourseListing,
    CourseState,
    Enrollment,
    EnrollmentStatus,
    ListingStatus,
    Participant,
    ParticipantStatus,
    Platform,
    PlatformStatus,
    Provider,
    ProviderState,
    Wave,
    utcnow,
)
from store.operation import operation
from store.paging import Cursor, Page, keyset, page_of
from store.personal_data import mask_number
from store.services import catalog
from store.services.waves import hold_waves
from store.text import prefix_range
from store.uow import UnitOfWork, read_session
from store import validators
from store.validators import require_text

explain_constraint(("uq_enrollment_one_active", "enrollment.participant_id"), "enrollment.one_at_a_time")
explain_constraint("ck_enrollment_completion_has_evidence", "enrollment.certificate_required")

CARD_HOLDING = frozenset({ParticipantStatus.SELECTED, ParticipantStatus.IN_TRAINING, ParticipantStatus.COMPLETED})


def has_active_enrollment() -> Exists:
    """Per participant row: an enrollment assigned or in progress exists."""
    return exists().where(
        col(Enrollment.participant_id) == col(Participant.id),
        col(Enrollment.status).in_([s.value for s in ACTIVE_ENROLLMENT]),
    )


async def lapsed_wave_ids(session: AsyncSession, today: dt.date) -> list[int]:
    """Waves whose purchase deadline passed before `today`: their card holders who bought nothing
    may no longer make a first purchase (the sweep revokes them). A handful of rows: the date
    arithmetic is done here rather than in two SQL dialects."""
    rows = await session.execute(select(col(Wave.id), col(Wave.starts_on), col(Wave.purchase_deadline_days)))
    # Ids read back are never None (the model's `int | None` is for records not yet written).
    return [cast(int, wave_id) for wave_id, starts_on, days in rows if starts_on + dt.timedelta(days=days) < today]


def refusal(price_idr: int, lapsed_waves: list[int]) -> Case[str | None]:
    """Per participant row: the key of the rule that refuses assigning a course at this price,
    or NULL. The one statement of the participant-side rules, for single and bulk assignment."""
    return case(
        (col(Participant.status).not_in([s.value for s in CARD_HOLDING]), "enrollment.participant_not_active"),
        (and_(col(Participant.status) == ParticipantStatus.SELECTED, col(Participant.wave_id).in_(lapsed_waves)),
         "enrollment.purchase_deadline_passed"),
        (has_active_enrollment(), "enrollment.one_at_a_time"),
        (col(Participant.balance_idr) < price_idr, "enrollment.balance_insufficient"),
        else_=None,
    )


def bought_status(status: str) -> str:
    """A card holder's status after a purchase: a first purchase starts the training."""
    return ParticipantStatus.IN_TRAINING.value if status == ParticipantStatus.SELECTED else status


@dataclass(frozen=True)
class EnrollmentView:
    id: int
    participant_id: int
    listing_id: int
    course_id: int
    course_title: str
    course_hours: int
    provider_name: str
    platform_id: int
    platform_name: str
    sequence: int
    price_idr: int
    status: str
    progress_pct: int
    assigned_at: dt.datetime
    completed_on: dt.date | None
    certificate_number: str
    review_given: bool
    flagged_fast: bool
    flag_cleared_at: dt.datetime | None
    cancel_reason: str
    version: int


def _enrollment_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            col(Enrollment.id), col(Enrollment.participant_id), col(Enrollment.listing_id), col(Enrollment.course_id),
            col(Course.title), col(Course.hours), label("provider_name", col(Provider.name)),
            col(Enrollment.platform_id), label("platform_name", col(Platform.name)), col(Enrollment.sequence),
            col(Enrollment.price_idr), col(Enrollment.status), col(Enrollment.progress_pct),
            col(Enrollment.assigned_at), col(Enrollment.completed_on), col(Enrollment.certificate_number),
            col(Enrollment.review_given), col(Enrollment.flagged_fast), col(Enrollment.flag_cleared_at),
            col(Enrollment.cancel_reason), col(Enrollment.version),
        )
        .join(Course, col(Course.id) == Enrollment.course_id)
        .join(Provider, col(Provider.id) == Course.provider_id)
        .join(Platform, col(Platform.id) == Enrollment.platform_id)
    )


async def enrollments_of(session: AsyncSession, participant_id: int) -> list[EnrollmentView]:
    rows = await session.execute(
        _enrollment_query().where(col(Enrollment.participant_id) == participant_id).order_by(col(Enrollment.id))
    )
    return [EnrollmentView(*row) for row in rows]


async def _enrollment_view(session: AsyncSession, enrollment_id: int) -> EnrollmentView:
    row = (await session.execute(_enrollment_query().where(col(Enrollment.id) == enrollment_id))).one()
    return EnrollmentView(*row)


async def next_sequence(session: AsyncSession, participant_ids: list[int]) -> dict[int, int]:
    """Each participant's next enrollment number (cancelled enrollments do not count)."""
    rows = await session.execute(
        select(col(Enrollment.participant_id), func.count())
        .where(
            col(Enrollment.participant_id).in_(participant_ids), col(Enrollment.status) != EnrollmentStatus.CANCELLED
        )
        .group_by(col(Enrollment.participant_id))
    )
    done = dict(rows.all())
    return {participant_id: done.get(participant_id, 0) + 1 for participant_id in participant_ids}


async def _participant(session: AsyncSession, participant_id: int, expected_version: int | None) -> Participant:
    """The participant, locked, after its wave (held first: the order the sweep locks in)."""
    await hold_waves(session, (
        await session.execute(select(col(Participant.wave_id)).where(col(Participant.id) == participant_id))
    ).scalars())
    participant = await session.get(Participant, participant_id, with_for_update=True)
    if participant is None:
        raise NotFound("participant.not_found", id=participant_id)
    if expected_version is not None and participant.version != expected_version:
        raise Conflict("record.changed")
    return participant


@operation
async def assign(
    uow: UnitOfWork,
    participant_id: int,
    listing_id: int,
    *,
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> EnrollmentView:
    """Assign a participant to a listed course; the price comes off the balance.
    `at` backdates the assignment (demo fixtures only)."""
    uow.actor.require("enrollment.assign")
    session = uow.session
    participant = await _participant(session, participant_id, expected_version)
    listing = await catalog.enrollable_listing(session, listing_id)
    lapsed = await lapsed_wave_ids(session, (at or utcnow()).date())
    reason = (
        await session.execute(select(refusal(listing.price_idr, lapsed)).where(col(Participant.id) == participant_id))
    ).scalar_one()
    if reason:
        raise RuleViolation(reason, price_idr=listing.price_idr, balance_idr=participant.balance_idr,
                            status=participant.status, title=listing.title)
    sequence = (await next_sequence(session, [participant_id]))[participant_id]
    enrollment = Enrollment(
        participant_id=participant_id, listing_id=listing.listing_id, course_id=listing.course_id,
        platform_id=listing.platform_id, sequence=sequence, price_idr=listing.price_idr,
        commission_bp=listing.commission_bp, assigned_at=at or utcnow(), assigned_by=uow.actor.operator_id,
    )
    before = {"status": participant.status, "balance_idr": participant.balance_idr}
    participant.balance_idr -= listing.price_idr
    participant.status = bought_status(participant.status)
    session.add(enrollment)
    await session.flush()
    assert enrollment.id is not None  # flushed
    uow.audit(
        "enrollment.assigned", "enrollment", enrollment.id,
        after={"participant_id": participant_id, "listing_id": listing.listing_id, "course": listing.title,
               "price_idr": listing.price_idr, "sequence": sequence},
    )
    uow.audit("participant.balance_charged", "participant", participant_id, before=before,
              after={"status": participant.status, "balance_idr": participant.balance_idr})
    return await _enrollment_view(session, enrollment.id)


async def _enrollment_for_report(uow: UnitOfWork, enrollment_id: int, expected_version: int | None) -> Enrollment:
    enrollment = await uow.session.get(Enrollment, enrollment_id, with_for_update=True)
    if enrollment is None:
        raise NotFound("enrollment.not_found", id=enrollment_id)
    uow.actor.require_platform(enrollment.platform_id)
    if expected_version is not None and enrollment.version != expected_version:
        raise Conflict("record.changed")
    return enrollment


@operation
async def record_progress(
    uow: UnitOfWork, enrollment_id: int, progress_pct: int, *, expected_version: int | None = None
) -> EnrollmentView:
    """Progress reported by the platform's staff or a coordinator (0-99; 100 is a completion)."""
    uow.actor.require("enrollment.progress")
    if not 0 <= progress_pct < 100:
        raise InvalidInput("enrollment.progress_range", field="progress_pct", value=progress_pct)
    enrollment = await _enrollment_for_report(uow, enrollment_id, expected_version)
    if enrollment.status not in ACTIVE_ENROLLMENT:
        raise RuleViolation("enrollment.not_active", status=enrollment.status)
    if progress_pct < enrollment.progress_pct:
        raise RuleViolation("enrollment.progress_backwards", current=enrollment.progress_pct, value=progress_pct)
    before = {"status": enrollment.status, "progress_pct": enrollment.progress_pct}
    enrollment.progress_pct = progress_pct
    if progress_pct > 0:
        enrollment.status = EnrollmentStatus.IN_PROGRESS
    uow.audit("enrollment.progress", "enrollment", enrollment.id, before=before,
              after={"status": enrollment.status, "progress_pct": progress_pct})
    await uow.session.flush()
    return await _enrollment_view(uow.session, enrollment_id)


def too_fast(assigned_at: dt.datetime, completed_on: dt.date, hours: int) -> bool:
    """Faster than the course's hours: fewer hours in the whole days from the assignment date to
    the completion date than the course lasts (any course finished on the day it was assigned,
    a 40-hour course finished the next day)."""
    return (completed_on - assigned_at.date()).days * 24 < hours


@operation
async def complete(
    uow: UnitOfWork,
    enrollment_id: int,
    completed_on: dt.date,
    certificate_number: str,
    *,
    review_given: bool = False,
    expected_version: int | None = None,
) -> EnrollmentView:
    """Record a completion with its evidence; the participant counts as having completed."""
    uow.actor.require("enrollment.progress")
    certificate_number = (certificate_number or "").strip()
    if not certificate_number:
        raise RuleViolation("enrollment.certificate_required")
    if len(certificate_number) > 100:
        raise InvalidInput("input.too_long", field="certificate_number", max=100)
    session = uow.session
    enrollment = await _enrollment_for_report(uow, enrollment_id, expected_version)
    if enrollment.status not in ACTIVE_ENROLLMENT:
        raise RuleViolation("enrollment.not_active", status=enrollment.status)
    assigned_at = enrollment.assigned_at
    assert assigned_at is not None  # NOT NULL, set on insert
    if completed_on < assigned_at.date():
        raise RuleViolation("enrollment.completed_before_assigned", assigned=assigned_at.date().isoformat())
    validators.iso_date(completed_on, "completed_on", not_after=dt.date.today())
    hours = (
        await session.execute(select(col(Course.hours)).where(col(Course.id) == enrollment.course_id))
    ).scalar_one()
    before = {"status": enrollment.status, "progress_pct": enrollment.progress_pct}
    enrollment.status = EnrollmentStatus.COMPLETED
    enrollment.progress_pct = 100
    enrollment.completed_on = completed_on
    enrollment.certificate_number = certificate_number
    enrollment.review_given = review_given
    enrollment.flagged_fast = too_fast(assigned_at, completed_on, hours)
    participant = await session.get(Participant, enrollment.participant_id, with_for_update=True)
    assert participant is not None  # an enrollment's participant (foreign key)
    participant.status = ParticipantStatus.COMPLETED
    uow.audit(
        "enrollment.completed", "enrollment", enrollment.id, before=before,
        after={"status": enrollment.status, "progress_pct": 100, "completed_on": completed_on,
               "certificate_number": certificate_number, "review_given": review_given,
               "flagged_fast": enrollment.flagged_fast},
    )
    await session.flush()
    return await _enrollment_view(session, enrollment_id)


@operation
async def cancel(
    uow: UnitOfWork, enrollment_id: int, reason: str, *, expected_version: int | None = None
) -> EnrollmentView:
    """Cancel an enrollment that has not started; the price returns to the balance. Without
    another purchase the participant is back to `selected` (and the purchase deadline)."""
    uow.actor.require("enrollment.assign")
    reason = require_text(reason, "reason", max_length=2000)
    session = uow.session
    enrollment = await _enrollment_for_report(uow, enrollment_id, expected_version)
    if enrollment.status != EnrollmentStatus.ASSIGNED or enrollment.progress_pct > 0:
        raise RuleViolation("enrollment.already_started", status=enrollment.status)
    participant = await _participant(session, enrollment.participant_id, None)
    enrollment.status = EnrollmentStatus.CANCELLED
    enrollment.cancelled_at = utcnow()
    enrollment.cancel_reason = reason
    await session.flush()
    before = {"status": participant.status, "balance_idr": participant.balance_idr}
    participant.balance_idr += enrollment.price_idr
    others = (
        await session.execute(
            select(func.count()).select_from(Enrollment).where(
                col(Enrollment.participant_id) == enrollment.participant_id,
                col(Enrollment.status) != EnrollmentStatus.CANCELLED,
            )
        )
    ).scalar_one()
    if participant.status == ParticipantStatus.IN_TRAINING and others == 0:
        participant.status = ParticipantStatus.SELECTED
    uow.audit("enrollment.cancelled", "enrollment", enrollment.id, before={"status": "assigned"},
              after={"status": "cancelled"}, reason=reason)
    uow.audit("participant.balance_refunded", "participant", enrollment.participant_id, before=before,
              after={"status": participant.status, "balance_idr": participant.balance_idr})
    await session.flush()
    return await _enrollment_view(session, enrollment_id)


@operation
async def clear_flag(
    uow: UnitOfWork, enrollment_id: int, reason: str, *, expected_version: int | None = None
) -> EnrollmentView:
    """A coordinator reviewed a completion flagged as too fast and accepts it."""
    uow.actor.require("enrollment.clear_flag")
    reason = require_text(reason, "reason", max_length=2000)
    enrollment = await _enrollment_for_report(uow, enrollment_id, expected_version)
    if not enrollment.flagged_fast or enrollment.flag_cleared_at is not None:
        raise RuleViolation("enrollment.not_flagged")
    enrollment.flag_cleared_at = utcnow()
    enrollment.flag_cleared_by = uow.actor.operator_id
    uow.audit("enrollment.flag_cleared", "enrollment", enrollment.id, reason=reason)
    await uow.session.flush()
    return await _enrollment_view(uow.session, enrollment_id)


@dataclass(frozen=True)
class FlaggedCompletion:
    enrollment_id: int
    participant_id: int
    nik: str  # masked
    full_name: str
    course_title: str
    hours: int
    platform_name: str
    assigned_at: dt.datetime
    completed_on: dt.date


async def list_flagged_completions(
    db: Database, actor: Actor, cursor: Cursor | None = None, limit: int = 100
) -> Page[FlaggedCompletion]:
    """Completions flagged as too fast for their course's hours and not yet reviewed, oldest
    first: the coordinator's queue (each is accepted with `clear_flag`, from the participant's
    file). Platform staff see their own platform's."""
    actor.require("participant.read")
    # Rows read back fill the view: their ids and NOT NULL columns are never the model's None.
    query: Select[*tuple[Any, ...]] = (
        select(col(Enrollment.id), col(Enrollment.participant_id), col(Participant.nik), col(Participant.full_name),
               col(Course.title), col(Course.hours), col(Platform.name), col(Enrollment.assigned_at),
               col(Enrollment.completed_on))
        .join(Participant, col(Participant.id) == Enrollment.participant_id)
        .join(Course, col(Course.id) == Enrollment.course_id)
        .join(Platform, col(Platform.id) == Enrollment.platform_id)
        .where(col(Enrollment.flagged_fast), col(Enrollment.flag_cleared_at).is_(None),
               col(Enrollment.status) == EnrollmentStatus.COMPLETED)
    )
    if actor.is_platform_staff:
        query = query.where(col(Enrollment.platform_id) == actor.platform_id)
    async with read_session(db) as session:
        rows = (await session.execute(keyset(query, [col(Enrollment.id)], cursor, limit))).all()
    views = [FlaggedCompletion(row[0], row[1], mask_number(row[2]), *row[3:]) for row in rows]
    return page_of(views, limit, lambda view: (view.enrollment_id,), cursor=cursor)


# --- choosing a course to assign -----------------------------------------------------------


@dataclass(frozen=True)
class ListingChoice:
    listing_id: int
    title: str
    title_key: str
    provider_name: str
    platform_name: str
    hours: int
    price_idr: int


async def open_listings(
    db: Database, actor: Actor, search: str = "", cursor: Cursor | None = None, limit: int = 100
) -> Page[ListingChoice]:
    """Listings open to purchases, by title (prefix search, case and accent insensitive)."""
    actor.require("course.read")
    # Rows read back fill the view: their ids are never the model's None.
    query: Select[*tuple[Any, ...]] = (
        select(col(CourseListing.id), col(Course.title), col(Course.title_key), col(Provider.name),
               col(Platform.name), col(Course.hours), col(Course.price_idr))
        .join(Course, col(Course.id) == CourseListing.course_id)
        .join(Provider, col(Provider.id) == Course.provider_id)
        .join(Platform, col(Platform.id) == CourseListing.platform_id)
        .where(
            col(CourseListing.status) == ListingStatus.LISTED, col(Course.state) == CourseState.APPROVED,
            col(Provider.state) == ProviderState.APPROVED, col(Platform.status) == PlatformStatus.ACTIVE,
        )
    )
    if search.strip():
        low, high = prefix_range(search)
        query = query.where(col(Course.title_key) >= low, col(Course.title_key) < high)
    async with read_session(db) as session:
        rows = (
            await session.execute(keyset(query, [col(Course.title_key), col(CourseListing.id)], cursor, limit))
        ).all()
    views = [ListingChoice(*row) for row in rows]
    return page_of(views, limit, lambda view: (view.title_key, view.listing_id), cursor=cursor)
