"""What participants may buy: the one check every enrollment goes through.

Owned by the providers area (states of providers, courses, listings, platforms); used by the
enrollment services of the participants area. A suspended provider, a withdrawn course, a
delisted listing or a suspended platform all close the listing to new enrollments.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import label, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.errors import NotFound, RuleViolation
from store.models import (
    Course,
    CourseListing,
    CourseState,
    ListingStatus,
    Platform,
    PlatformStatus,
    Provider,
    ProviderState,
)


@dataclass(frozen=True)
class EnrollableListing:
    listing_id: int
    course_id: int
    platform_id: int
    provider_id: int
    title: str
    hours: int
    price_idr: int
    commission_bp: int


async def enrollable_listing(session: AsyncSession, listing_id: int) -> EnrollableListing:
    """The listing if a participant may buy it now; else a RuleViolation naming the reason."""
    row = (
        await session.execute(
            select(
                col(CourseListing.id), col(CourseListing.status), col(CourseListing.commission_bp),
                col(CourseListing.platform_id), label("course_id", col(Course.id)),
                label("course_state", col(Course.state)), col(Course.title), col(Course.hours),
                col(Course.price_idr), label("provider_id", col(Provider.id)),
                label("provider_state", col(Provider.state)), label("platform_status", col(Platform.status)),
            )
            .join(Course, col(Course.id) == CourseListing.course_id)
            .join(Provider, col(Provider.id) == Course.provider_id)
            .join(Platform, col(Platform.id) == CourseListing.platform_id)
            .where(col(CourseListing.id) == listing_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("listing.not_found", id=listing_id)
    if row.provider_state != ProviderState.APPROVED:
        raise RuleViolation("enrollment.provider_not_approved", state=row.provider_state)
    if row.course_state != CourseState.APPROVED:
        raise RuleViolation("enrollment.course_not_approved", title=row.title)
    if row.status != ListingStatus.LISTED:
        raise RuleViolation("enrollment.course_not_listed", title=row.title)
    if row.platform_status != PlatformStatus.ACTIVE:
        raise RuleViolation("enrollment.platform_suspended")
    return EnrollableListing(
        row.id, row.course_id, row.platform_id, row.provider_id, row.title, row.hours, row.price_idr,
        row.commission_bp,
    )
