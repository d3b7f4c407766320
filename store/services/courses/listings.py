"""Listing a course on a platform under the program's rules: a refusal names its rule and is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import (
    ONLINE_MODES,
    Course,
    CourseListing,
    CourseState,
    ListingStatus,
    Platform,
    PlatformStatus,
    Provider,
    ProviderState,
    Wave,
)
from store.operation import get_held, operation
from store.services import settings
from store.services.courses.fields import commission_bp
from store.services.courses.states import _course_for_change, _delist
from store.services.courses.views import ListingView, _listing_view
from store.uow import UnitOfWork


explain_constraint("ck_course_listing_delisting_has_reason", "listing.reason_required")
explain_constraint(
    ("uq_course_listing_course_id_platform_id", "course_listing.course_id"), "listing.exists", Conflict
)

# Without any wave on record, the balance of the scheme in force since 2023 applies.
SCHEME_2023_BALANCE_IDR = 3_500_000


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
