"""Courses, their curation states, and listings on platforms under the program's rules.

Course states: draft -> submitted -> approved | rejected; approved -> withdrawn.

Listing a course on a platform records the platform's commission. It is refused, naming the
rule, when: the provider is not approved; the course is not approved; the platform is
suspended; the price is above the training balance of the current scheme; the course is free
elsewhere; the price is above the same course's price outside the program; the commission is
above the platform's cap; an online course is not interactive; or the course is paid and its
provider shares an ownership group with the platform (the cross-selling ban after KPK found 250
of 1,895 courses affiliated). Refused attempts are recorded in the audit log as well.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import validators
from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import (
    ONLINE_MODES,
    Course,
    CourseListing,
    CourseMode,
    CourseState,
    ListingStatus,
    Platform,
    PlatformStatus,
    Provider,
    ProviderPlatform,
    ProviderState,
    Wave,
)
from store.operation import get_held, hold, operation
from store.services import curation, providers, settings
from store.text import fold
from store.uow import UnitOfWork, read_session

explain_constraint("ck_course_decision_has_reason", "course.reason_required")
explain_constraint("ck_course_listing_delisting_has_reason", "listing.reason_required")
explain_constraint(
    ("uq_course_listing_course_id_platform_id", "course_listing.course_id"), "listing.exists", Conflict
)

# Without any wave on record, the balance of the scheme in force since 2023 applies.
SCHEME_2023_BALANCE_IDR = 3_500_000
# The price-outlier report: a course is an outlier when its price is at least this share of the
# median price of similar courses (same category and mode), among at least MIN_SIMILAR of them.
OUTLIER_FACTOR_PCT = 200
MIN_SIMILAR = 3
# States in which a course competes on price (the outlier report ignores the others).
PRICED_STATES = (CourseState.DRAFT, CourseState.SUBMITTED, CourseState.APPROVED)


# --- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseFields:
    title: str
    category: str
    mode: str
    hours: int
    price_idr: int
    outside_price_idr: int | None  # None: not sold elsewhere, or unknown
    free_elsewhere: bool
    interactive: bool


def _hours(value: Any) -> int:
    text = str(value or "").strip()
    if not validators.is_digits(text) or len(text) > 4 or not 0 < int(text) <= 1000:
        raise InvalidInput("input.hours", field="hours", value=value)
    return int(text)


def course_fields(values: Mapping[str, Any]) -> CourseFields:
    """Validated course fields from a form or a file; each refusal names its field."""
    mode = str(values.get("mode") or "").strip().lower()
    if mode not in set(CourseMode):
        raise InvalidInput("input.course_mode", field="mode", value=values.get("mode"))
    outside_raw = values.get("outside_price")
    outside = None
    if outside_raw not in (None, "") and str(outside_raw).strip() not in ("", "-"):
        outside = 0 if str(outside_raw).strip() == "0" else validators.positive_money(outside_raw, "outside_price")
    free_elsewhere = providers.yes_no(values.get("free_elsewhere"), "free_elsewhere") or outside == 0
    return CourseFields(
        title=validators.require_text(values.get("title"), "title", max_length=300),
        category=validators.require_text(values.get("category"), "category", max_length=100),
        mode=mode,
        hours=_hours(values.get("hours")),
        price_idr=validators.positive_money(values.get("price") or "", "price"),
        outside_price_idr=None if free_elsewhere else outside,
        free_elsewhere=free_elsewhere,
        interactive=providers.yes_no(values.get("interactive"), "interactive"),
    )


def commission_bp(value: str | int) -> int:
    """A commission typed as a percentage ("12.5", "12,5 %") in basis points (1250)."""
    return validators.percentage_bp(value, "commission")


# --- views ------------------------------------------------------------------------------------


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


# --- course states ----------------------------------------------------------------------------


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


# --- listings ---------------------------------------------------------------------------------


async def training_balance(session: AsyncSession) -> int:
    """The training balance of the current scheme: that of the most recent wave by start date
    when one exists, else the balance of the 2023 scheme (Rp3.500.000). Asked once a session."""
    if "training_balance" not in session.info:
        balance = (
            await session.execute(
                select(col(Wave.training_balance_idr))
                .order_by(col(Wave.starts_on).desc(), col(Wave.id).desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        session.info["training_balance"] = balance if balance is not None else SCHEME_2023_BALANCE_IDR
    balance_idr: int = session.info["training_balance"]
    return balance_idr


@dataclass(frozen=True)
class ListingFacts:
    """What the listing rules look at, gathered in one place so the rules stay a pure function."""

    title: str
    provider_state: str
    course_state: str
    platform_name: str
    platform_status: str
    price_idr: int
    outside_price_idr: int | None
    free_elsewhere: bool
    mode: str
    interactive: bool
    balance_idr: int
    cap_bp: int
    provider_group_id: int | None
    platform_group_id: int | None


# Every key a listing may be refused with, in the order the rules are checked.
LISTING_RULES = (
    "listing.provider_not_approved",
    "listing.course_not_approved",
    "listing.platform_suspended",
    "listing.price_above_balance",
    "listing.free_elsewhere",
    "listing.price_above_outside",
    "listing.commission_above_cap",
    "listing.not_interactive",
    "listing.cross_selling",
)


def listing_refusal(facts: ListingFacts, commission: int) -> RuleViolation | None:
    """The first listing rule this listing would break, or None."""
    f = facts
    if f.provider_state != ProviderState.APPROVED:
        return RuleViolation("listing.provider_not_approved", state=f.provider_state)
    if f.course_state != CourseState.APPROVED:
        return RuleViolation("listing.course_not_approved", title=f.title, state=f.course_state)
    if f.platform_status != PlatformStatus.ACTIVE:
        return RuleViolation("listing.platform_suspended", platform=f.platform_name)
    if f.price_idr > f.balance_idr:
        return RuleViolation("listing.price_above_balance", price_idr=f.price_idr, balance_idr=f.balance_idr)
    if f.free_elsewhere:
        return RuleViolation("listing.free_elsewhere", title=f.title)
    if f.outside_price_idr is not None and f.price_idr > f.outside_price_idr:
        return RuleViolation("listing.price_above_outside", price_idr=f.price_idr, outside_idr=f.outside_price_idr)
    if commission > f.cap_bp:
        return RuleViolation(
            "listing.commission_above_cap", commission=_percent(commission), cap=_percent(f.cap_bp), platform=f.platform_name
        )
    if f.mode in ONLINE_MODES and not f.interactive:
        return RuleViolation("listing.not_interactive", title=f.title)
    # Every course in the catalogue is paid from the balance (CHECK price_positive); the ban
    # names paid courses because a free course of the group would not be cross-selling.
    if f.price_idr > 0 and f.provider_group_id is not None and f.provider_group_id == f.platform_group_id:
        return RuleViolation("listing.cross_selling", title=f.title, platform=f.platform_name)
    return None


MAX_COMMISSION_KEY = "platforms.max_commission_bp"


def _percent(bp: int) -> str:
    whole, part = divmod(bp, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") + " %"


async def _listing_facts(session: AsyncSession, course: Course, provider: Provider, platform: Platform) -> ListingFacts:
    return ListingFacts(
        title=course.title, provider_state=provider.state, course_state=course.state,
        platform_name=platform.name, platform_status=platform.status, price_idr=course.price_idr,
        outside_price_idr=course.outside_price_idr, free_elsewhere=course.free_elsewhere, mode=course.mode,
        interactive=course.interactive, balance_idr=await training_balance(session),
        # A platform's own cap, never above the program's maximum.
        cap_bp=min(platform.commission_cap_bp, int(await settings.get_in(session, MAX_COMMISSION_KEY))),
        provider_group_id=provider.ownership_group_id,
        platform_group_id=platform.ownership_group_id,
    )


async def list_course_within(uow: UnitOfWork, course_id: int, platform_id: int, commission: int | str) -> ListingView:
    """List (or list again) a course on a platform inside the caller's unit of work. A refusal
    is raised before anything is written, so the caller may record it and carry on."""
    uow.actor.require("listing.create")
    bp = commission_bp(commission)
    session = uow.session
    course, provider = await _course_for_change(uow, course_id, None)
    platform = await get_held(session, Platform, platform_id)
    if platform is None:
        raise NotFound("platform.not_found", code=platform_id)
    uow.actor.require_platform(platform_id)
    existing = (
        await session.execute(
            select(CourseListing).where(
                col(CourseListing.course_id) == course_id, col(CourseListing.platform_id) == platform_id
            )
        )
    ).scalar_one_or_none()
    if existing is not None and existing.status == ListingStatus.LISTED:
        raise Conflict("listing.exists", title=course.title, platform=platform.name)
    refusal = listing_refusal(await _listing_facts(session, course, provider, platform), bp)
    if refusal is not None:
        raise refusal
    before: dict[str, Any] = {}
    if existing is None:
        existing = CourseListing(
            course_id=course_id, platform_id=platform_id, commission_bp=bp, listed_by=uow.actor.operator_id
        )
        session.add(existing)
    else:
        before = {"status": existing.status, "commission_bp": existing.commission_bp}
        existing.status, existing.status_reason, existing.commission_bp = ListingStatus.LISTED, "", bp
        existing.listed_by = uow.actor.operator_id
    await session.flush()
    assert existing.id is not None  # read or flushed
    uow.audit(
        "listing.created", "course_listing", existing.id, before=before,
        after={"status": "listed", "commission_bp": bp},
        details={"course_id": course_id, "platform": platform.code, "price_idr": course.price_idr},
    )
    return ListingView(
        existing.id, existing.version, course_id, course.title, platform_id, platform.code, platform.name,
        bp, existing.status, existing.status_reason,
    )


def record_refusal(uow: UnitOfWork, course_id: int, platform_id: int, commission: Any, refusal: RuleViolation) -> None:
    """The audit trail of a refused listing: which rule, for which course and platform."""
    uow.audit(
        "listing.refused", "course", course_id,
        details={"platform_id": platform_id, "commission": str(commission), "rule": refusal.key, **refusal.params},
        reason=refusal.key,
    )


_list_course = operation(list_course_within)


@operation
async def _record_refusal(
    uow: UnitOfWork, course_id: int, platform_id: int, commission: int | str, refusal: RuleViolation
) -> None:
    record_refusal(uow, course_id, platform_id, commission, refusal)


async def list_course(db: Database, actor: Actor, course_id: int, platform_id: int, commission: int | str) -> ListingView:
    """List a course on a platform at a commission; a refusal names the rule and is audited (in a
    transaction of its own: the listing's rolled back)."""
    try:
        return await _list_course(db, actor, course_id, platform_id, commission)
    except RuleViolation as refusal:
        if refusal.key in LISTING_RULES:
            await _record_refusal(db, actor, course_id, platform_id, commission, refusal)
        raise


def _delist(uow: UnitOfWork, listing: CourseListing, reason: str) -> None:
    before = {"status": listing.status, "status_reason": listing.status_reason}
    listing.status, listing.status_reason = ListingStatus.DELISTED, reason
    uow.audit(
        "listing.delisted", "course_listing", listing.id, before=before,
        after={"status": "delisted", "status_reason": reason}, details={"course_id": listing.course_id}, reason=reason,
    )


@operation
async def delist(uow: UnitOfWork, listing_id: int, reason: str, *, expected_version: int | None = None) -> ListingView:
    """Take a course off a platform: no new enrollments there (enrollments already made stay)."""
    uow.actor.require("listing.create")
    listing = await uow.session.get(CourseListing, listing_id)
    if listing is None:
        raise NotFound("listing.not_found", id=listing_id)
    uow.actor.require_platform(listing.platform_id)
    await _course_for_change(uow, listing.course_id, None)
    if expected_version is not None and listing.version != expected_version:
        raise Conflict("record.changed")
    if listing.status != ListingStatus.LISTED:
        raise RuleViolation("listing.not_listed")
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("input.required", field="reason")
    _delist(uow, listing, reason)
    await uow.session.flush()
    return await _listing_view(uow.session, listing_id)


# --- the price-outlier report -----------------------------------------------------------------


@dataclass(frozen=True)
class Outlier:
    course_id: int
    provider_id: int
    title: str
    provider_name: str
    category: str
    mode: str
    price_idr: int
    median_idr: int
    similar: int  # courses in the same category and mode, this one included
    ratio_pct: int  # price as a percentage of the median


async def price_outliers(
    db: Database, actor: Actor, *, factor_pct: int = OUTLIER_FACTOR_PCT, min_similar: int = MIN_SIMILAR
) -> list[Outlier]:
    """Courses priced at least `factor_pct` % of the median of similar courses (same category
    and mode), highest first. Medians are program-wide; platform staff see their own courses."""
    actor.require("course.read")
    query = (
        select(
            col(Course.id), col(Course.provider_id), col(Course.title), col(Provider.name), col(Course.category),
            col(Course.mode), col(Course.price_idr),
        )
        .join(Provider, col(Provider.id) == Course.provider_id)
        .where(col(Course.state).in_(PRICED_STATES))
    )
    async with read_session(db) as session:
        rows = (await session.execute(query)).all()
        own: set[int] | None = None
        if actor.is_platform_staff:
            own = set(
                (
                    await session.execute(
                        select(col(ProviderPlatform.provider_id))
                        .where(col(ProviderPlatform.platform_id) == actor.platform_id)
                    )
                ).scalars()
            )
    groups: dict[tuple[str, str], list[Row[*tuple[Any, ...]]]] = defaultdict(list)
    for row in rows:
        groups[(fold(row.category), row.mode)].append(row)
    outliers = []
    for similar in groups.values():
        if len(similar) < min_similar:
            continue
        median = int(statistics.median(row.price_idr for row in similar))
        for row in similar:
            if own is not None and row.provider_id not in own:
                continue
            if row.price_idr * 100 >= median * factor_pct:
                outliers.append(
                    Outlier(
                        row.id, row.provider_id, row.title, row.name, row.category, row.mode, row.price_idr, median,
                        len(similar), row.price_idr * 100 // median,
                    )
                )
    return sorted(outliers, key=lambda outlier: (-outlier.ratio_pct, outlier.title))
