"""What participants may buy: the one check every enrollment goes through.

Owned by the providers area (states of providers, courses, listings, platforms); used by the
enrollment services of the participants area. A suspended provider, a withdrawn course, a
delisted listing or a suspended platform all close the listing to new enrollments.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
                CourseListing.id, CourseListing.status, CourseListing.commission_bp, CourseListing.platform_id,
                Course.id.label("course_id"), Course.state.label("course_state"), Course.title, Course.hours,
                Course.price_idr, Provider.id.label("provider_id"), Provider.state.label("provider_state"),
                Platform.status.label("platform_status"),
            )
            .join(Course, Course.id == CourseListing.course_id)
            .join(Provider, Provider.id == Course.provider_id)
            .join(Platform, Platform.id == CourseListing.platform_id)
            .where(CourseListing.id == listing_id)
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
