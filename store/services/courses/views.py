"""What the console shows of courses and listings, read alike for a provider's file and a course's screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import NotFound
from store.models import Course, CourseListing, Platform, Provider
from store.services import curation, providers
from store.uow import UnitOfWork, read_session


@dataclass(frozen=True)
class CourseView:
    id: int
    version: int
    provider_id: int
    title: str
    category: str
    mode: str
    hours: int
    price_idr: int
    outside_price_idr: int | None
    free_elsewhere: bool
    interactive: bool
    state: str
    state_reason: str


@dataclass(frozen=True)
class ListingView:
    id: int
    version: int
    course_id: int
    course_title: str
    platform_id: int
    platform_code: str
    platform_name: str
    commission_bp: int
    status: str
    status_reason: str


async def _saved(uow: UnitOfWork, course: Course) -> CourseView:
    """The course's view after its UPDATE (which bumps the version the operator will send back)."""
    await uow.session.flush()
    return _course_view(course)


def _course_view(course: Course) -> CourseView:
    assert course.id is not None  # read or flushed
    return CourseView(
        course.id, course.version, course.provider_id, course.title, course.category, course.mode, course.hours,
        course.price_idr, course.outside_price_idr, course.free_elsewhere, course.interactive, course.state,
        course.state_reason,
    )


async def courses_of(session: AsyncSession, provider_id: int) -> list[CourseView]:
    rows = await session.execute(
        select(Course).where(col(Course.provider_id) == provider_id).order_by(col(Course.title_key), col(Course.id))
    )
    return [_course_view(course) for course in rows.scalars()]


def _listing_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            col(CourseListing.id), col(CourseListing.version), col(CourseListing.course_id), col(Course.title),
            col(CourseListing.platform_id), col(Platform.code), col(Platform.name), col(CourseListing.commission_bp),
            col(CourseListing.status), col(CourseListing.status_reason),
        )
        .join(Course, col(Course.id) == CourseListing.course_id)
        .join(Platform, col(Platform.id) == CourseListing.platform_id)
    )


async def listings_of(session: AsyncSession, provider_id: int) -> list[ListingView]:
    rows = await session.execute(
        _listing_query()
        .where(col(Course.provider_id) == provider_id)
        .order_by(col(Course.title_key), col(Platform.code))
    )
    return [ListingView(*row) for row in rows]


async def _listing_view(session: AsyncSession, listing_id: int) -> ListingView:
    return ListingView(*(await session.execute(_listing_query().where(col(CourseListing.id) == listing_id))).one())


@dataclass(frozen=True)
class CourseFile:
    course: CourseView
    listings: tuple[ListingView, ...]
    provider_name: str
    provider_state: str
    may_decide: bool  # the operator may approve or reject it (role and independence)


async def get_course(db: Database, actor: Actor, course_id: int) -> CourseFile:
    """A course with its listings, for its own screen."""
    actor.require("course.read")
    async with read_session(db) as session:
        course = await session.get(Course, course_id)
        if course is None:
            raise NotFound("course.not_found", id=course_id)
        await providers.require_scope(session, actor, course.provider_id)
        provider = await session.get(Provider, course.provider_id)
        assert provider is not None  # the course's provider (a foreign key)
        rows = await session.execute(
            _listing_query().where(col(CourseListing.course_id) == course_id).order_by(col(Platform.code))
        )
        view, listings = _course_view(course), tuple(ListingView(*row) for row in rows)
    may_decide = actor.can("course.decide") and await curation.may_assess(db, actor, course.provider_id)
    return CourseFile(view, listings, provider.name, provider.state, may_decide)
