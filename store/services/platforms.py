"""Platform partners: onboarding an approved applicant, listing, suspending and reinstating."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from store import validators
from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import OwnershipGroup, Platform, PlatformApplication, PlatformStatus
from store.services import obligations, settings
from store.text import fold
from store.operation import operation
from store.uow import UnitOfWork, read_session

explain_constraint(("uq_platform_code", "platform.code"), "platforms.code_taken", Conflict)
explain_constraint(("uq_platform_agreement_number", "platform.agreement_number"), "platforms.agreement_taken", Conflict)

_ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


@dataclass(frozen=True)
class PlatformTerms:
    """What approval writes into the new platform's agreement."""

    code: str
    name: str
    agreement_number: str
    agreement_date: dt.date
    commission_cap_bp: int


def _code_from(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(name))[:36] or "platform"


async def _free(session: AsyncSession, column: Mapped[str], candidates: Iterable[str]) -> str:
    """The first candidate value not yet used in `column`."""
    for candidate in candidates:
        if (await session.execute(select(col(Platform.id)).where(column == candidate))).first() is None:
            return candidate
    raise RuleViolation("platforms.no_free_value")


async def proposed_terms(session: AsyncSession, application: PlatformApplication, today: dt.date) -> PlatformTerms:
    """Defaults: a code from the brand name, the next agreement number in the office's style
    (PKS-PMO/009/XI/2026), today's date and the default commission cap."""
    base = _code_from(application.brand_name)
    code = await _free(session, col(Platform.code), (base if n == 1 else f"{base}{n}" for n in range(1, 100)))
    count = (await session.execute(select(func.count()).select_from(Platform))).scalar_one()
    suffix = f"{_ROMAN_MONTHS[today.month - 1]}/{today.year}"
    number = await _free(
        session, col(Platform.agreement_number), (f"PKS-PMO/{n:03d}/{suffix}" for n in range(count + 1, count + 100))
    )
    cap = int(await settings.get_in(session, "platforms.default_commission_cap_bp"))
    return PlatformTerms(code, application.brand_name, number, today, cap)


def edited_terms(
    proposed: PlatformTerms, *, code: str, agreement_number: str, agreement_date: str, commission_cap: str
) -> PlatformTerms:
    """The terms as the approver typed them over the proposed ones (date YYYY-MM-DD, cap as a
    percentage); refuses the first field that is not valid."""
    return check_terms(PlatformTerms(
        code=code, name=proposed.name, agreement_number=agreement_number,
        agreement_date=validators.iso_date(agreement_date, "agreement_date"),
        commission_cap_bp=validators.percentage_bp(commission_cap, "commission_cap"),
    ))


def check_terms(terms: PlatformTerms) -> PlatformTerms:
    code = (terms.code or "").strip().lower()
    if not _CODE.match(code):
        raise InvalidInput("platforms.code_invalid", field="code", value=terms.code)
    number = validators.require_text(terms.agreement_number, "agreement_number", max_length=100)
    if not 0 <= terms.commission_cap_bp <= 10_000:
        raise InvalidInput("platforms.cap_invalid", field="commission_cap", value=terms.commission_cap_bp)
    return PlatformTerms(code, terms.name, number, terms.agreement_date, terms.commission_cap_bp)


async def check_program_rules(session: AsyncSession, terms: PlatformTerms, today: dt.date) -> None:
    """Terms the program allows: a signed agreement (dated today or earlier: its obligation
    periods are counted from it) and a commission cap within the program's maximum."""
    if terms.agreement_date > today:
        raise InvalidInput("platforms.agreement_in_future", field="agreement_date",
                           value=terms.agreement_date.isoformat(), today=today.isoformat())
    maximum = int(await settings.get_in(session, "platforms.max_commission_bp"))
    if terms.commission_cap_bp > maximum:
        raise InvalidInput("platforms.cap_above_program_max", field="commission_cap",
                           cap=f"{terms.commission_cap_bp / 100:g} %", maximum=f"{maximum / 100:g} %")


async def onboard(uow: UnitOfWork, application: PlatformApplication, terms: PlatformTerms, today: dt.date) -> Platform:
    """Create the platform of an approved application and open its obligations (inside the
    decision's unit of work)."""
    terms = check_terms(terms)
    session = uow.session
    await check_program_rules(session, terms, today)
    if (await session.execute(select(col(Platform.id)).where(col(Platform.code) == terms.code))).first():
        raise Conflict("platforms.code_taken", code=terms.code)
    platform = Platform(
        code=terms.code, name=terms.name, legal_name=application.legal_name, portal_url=application.portal_url,
        ownership_group_id=application.ownership_group_id, agreement_number=terms.agreement_number,
        agreement_date=terms.agreement_date, commission_cap_bp=terms.commission_cap_bp,
    )
    session.add(platform)
    await session.flush()
    assert platform.id is not None  # flushed
    uow.audit(
        "platform.onboarded", "platform", platform.id,
        after={
            "code": terms.code, "name": terms.name, "agreement_number": terms.agreement_number,
            "agreement_date": terms.agreement_date, "commission_cap_bp": terms.commission_cap_bp,
            "status": PlatformStatus.ACTIVE,
        },
        details={"application_id": application.id},
    )
    opened = await obligations.open_periods(session, platform.id, obligations.month_start(terms.agreement_date), today)
    if opened:
        uow.audit(
            "obligation.periods_opened", "platform", platform.id,
            details={"items": opened, "from": obligations.month_start(terms.agreement_date), "through": today},
        )
    return platform


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformRow:
    id: int
    version: int
    code: str
    name: str
    status: str
    agreement_number: str
    agreement_date: dt.date
    commission_cap_bp: int
    overdue: int  # obligation items past their due date, not submitted
    not_yet_due: int  # open items whose due date has not come
    scheduled_through: dt.date | None  # end of the latest period opened


@dataclass(frozen=True)
class PlatformDetail:
    row: PlatformRow
    legal_name: str
    portal_url: str
    ownership_group: str
    status_reason: str
    application_id: int | None  # the application that created it (None for the 2020 platforms)


def _row(platform: Platform, counts: dict[int, tuple[int, int, dt.date | None]]) -> PlatformRow:
    assert platform.id is not None  # a platform read
    overdue, not_yet_due, through = counts.get(platform.id, (0, 0, None))
    return PlatformRow(
        platform.id, platform.version, platform.code, platform.name, platform.status, platform.agreement_number,
        platform.agreement_date, platform.commission_cap_bp, overdue, not_yet_due, through,
    )


# The orders the platforms list offers; a handful of rows, ordered here once they are counted.
PLATFORM_SORTS: dict[str, Callable[[PlatformRow], tuple[Any, ...]]] = {
    "name": lambda row: (row.name.casefold(), row.id),
    "overdue": lambda row: (-row.overdue, row.name.casefold(), row.id),  # the most overdue reports first
    "status": lambda row: (row.status, row.name.casefold(), row.id),
}


async def list_platforms(
    db: Database, actor: Actor, today: dt.date | None = None, *, sort: str = "name"
) -> list[PlatformRow]:
    """Every platform (platform staff: their own), with obligation counts, in `sort` order
    (PLATFORM_SORTS); a handful of rows."""
    actor.require("platform.read")
    order = PLATFORM_SORTS.get(sort)
    if order is None:
        raise InvalidInput("list.sort_unknown", field="sort", value=sort)
    today = today or dt.date.today()
    query = select(Platform)
    if actor.is_platform_staff:
        query = query.where(col(Platform.id) == actor.platform_id)
    async with read_session(db, replica=True) as session:
        platforms = (await session.execute(query)).scalars().all()
        counts = await obligations.counts_by_platform(session, today)
    return sorted((_row(platform, counts) for platform in platforms), key=order)


async def get_platform(db: Database, actor: Actor, platform_id: int, today: dt.date | None = None) -> PlatformDetail:
    actor.require("platform.read")
    actor.require_platform(platform_id)
    today = today or dt.date.today()
    async with read_session(db) as session:
        platform = await session.get(Platform, platform_id)
        if platform is None:
            raise NotFound("platforms.not_found", id=platform_id)
        counts = await obligations.counts_by_platform(session, today)
        group = await session.get(OwnershipGroup, platform.ownership_group_id) if platform.ownership_group_id else None
        application_id = (
            await session.execute(
                select(col(PlatformApplication.id)).where(col(PlatformApplication.platform_id) == platform_id)
            )
        ).scalar_one_or_none()
    return PlatformDetail(
        _row(platform, counts), platform.legal_name, platform.portal_url, group.name if group else "",
        platform.status_reason, application_id,
    )


# --- suspend and reinstate --------------------------------------------------------------------


@operation
async def _set_status(
    uow: UnitOfWork, platform_id: int, status: PlatformStatus, reason: str, expected_version: int
) -> None:
    uow.actor.require("platform.suspend")
    reason = validators.require_text(reason, "reason", max_length=2000)
    platform = await uow.session.get(Platform, platform_id)
    if platform is None:
        raise NotFound("platforms.not_found", id=platform_id)
    if platform.version != expected_version:
        raise Conflict("record.changed")
    if platform.status == status:
        raise RuleViolation(f"platforms.already_{status}", code=platform.code)
    before = {"status": platform.status, "status_reason": platform.status_reason}
    platform.status = status
    platform.status_reason = reason
    uow.audit(
        "platform.suspended" if status == PlatformStatus.SUSPENDED else "platform.reinstated",
        "platform", platform.id, before=before, after={"status": status, "status_reason": reason}, reason=reason,
    )


async def suspend(db: Database, actor: Actor, platform_id: int, reason: str, *, expected_version: int) -> PlatformDetail:
    """Stop a platform (no new sales elsewhere in the program); its obligations continue."""
    await _set_status(db, actor, platform_id, PlatformStatus.SUSPENDED, reason, expected_version)
    return await get_platform(db, actor, platform_id)


async def reinstate(db: Database, actor: Actor, platform_id: int, reason: str, *, expected_version: int) -> PlatformDetail:
    await _set_status(db, actor, platform_id, PlatformStatus.ACTIVE, reason, expected_version)
    return await get_platform(db, actor, platform_id)
