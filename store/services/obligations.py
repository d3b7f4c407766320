"""Platform obligations: the ten periodic duties of every platform partner.

How the items come to exist (deliberately simple):
- Periods are whole calendar months, `obligations.period_months` long (1, monthly, by default).
  Each period has ten items, one per obligation kind, due `obligations.due_days` after it ends.
- Approving an application opens the new platform's periods from its agreement month through the
  current one (see store/services/platforms.py).
- `roll_forward(through)` opens, for every platform, each period after its latest one that has
  begun by `through` (an admin's key in the Platforms area, or `mitra platforms roll-obligations`
  from cron). It is idempotent: a second run creates nothing. A platform without items starts at
  its agreement month, or at `start` when given (the office began tracking the 2020 platforms
  long after their agreements).
- Suspended platforms keep their obligations: a suspension stops new sales, not the reports and
  fee disbursements owed for trainings already sold.
- An item is overdue when it is not submitted and its due date has passed; late when it was
  submitted after its due date.
- The "fees disbursed to providers" report states an amount (`reported_idr`): what the platform
  says it passed on to providers in the period. `fee_disbursement_check` sets it against the nets
  owed: the PMO pays each training fee to the platform (gross) and the platform owes the provider
  the fee less its commission (the line's `net_idr`), from the day the payer's results recorded the
  line paid. The difference (reported less owed) is what the office asks about.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import validators
from store.actor import Actor
from store.bulk import insert_rows
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import (
    BatchKind,
    LineStatus,
    ObligationItem,
    ObligationKind,
    Operator,
    PaymentBatch,
    PaymentLine,
    Platform,
    Provider,
)
from store.services import settings
from store.operation import operation
from store.uow import UnitOfWork, read_session

explain_constraint(
    ("uq_obligation_item_platform_id_kind_period_start", "obligation_item.platform_id"),
    "obligation.periods_exist", Conflict,
)


class ObligationStatus(StrEnum):
    OPEN = "open"  # not submitted, not yet due
    OVERDUE = "overdue"  # not submitted, due date passed
    ON_TIME = "on_time"  # submitted by the due date
    LATE = "late"  # submitted after the due date


def status_of(due_on: dt.date, submitted_on: dt.date | None, today: dt.date) -> ObligationStatus:
    if submitted_on is None:
        return ObligationStatus.OVERDUE if due_on < today else ObligationStatus.OPEN
    return ObligationStatus.LATE if submitted_on > due_on else ObligationStatus.ON_TIME


# --- periods ----------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months_later(first_of_month: dt.date, months: int) -> dt.date:
    years, month_index = divmod(first_of_month.month - 1 + months, 12)
    return dt.date(first_of_month.year + years, month_index + 1, 1)


def periods_between(first_start: dt.date, through: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """(start, end) of each period from `first_start` (a first of month) that begins by `through`."""
    periods = []
    start = first_start
    while start <= through:
        following = _months_later(start, months)
        periods.append((start, following - dt.timedelta(days=1)))
        start = following
    return periods


async def _period_settings(session: AsyncSession) -> tuple[int, int]:
    months = int(await settings.get_in(session, "obligations.period_months"))
    due_days = int(await settings.get_in(session, "obligations.due_days"))
    if not 1 <= months <= 12 or due_days < 0:
        raise RuleViolation("obligation.bad_settings", months=months, days=due_days)
    return months, due_days


async def open_periods(session: AsyncSession, platform_id: int, first_start: dt.date, through: dt.date) -> int:
    """Insert the ten items of each period from `first_start` that has begun by `through`, inside
    the caller's unit of work; returns how many items were created."""
    months, due_days = await _period_settings(session)
    rows = [
        {
            "platform_id": platform_id, "kind": kind.value, "period_start": start, "period_end": end,
            "due_on": end + dt.timedelta(days=due_days), "reference": "", "version": 1,
        }
        for start, end in periods_between(first_start, through, months)
        for kind in ObligationKind
    ]
    return await insert_rows(session, ObligationItem.__table__, rows)


@dataclass(frozen=True)
class RollResult:
    platforms: int
    created: int
    through: dt.date


@operation
async def roll_forward(
    uow: UnitOfWork, through: dt.date | None = None, *, start: dt.date | None = None
) -> RollResult:
    """Open every platform's periods that have begun by `through` (default today)."""
    uow.actor.require("obligation.schedule")
    through = through or dt.date.today()
    session = uow.session
    platforms = (
        await session.execute(select(col(Platform.id), col(Platform.agreement_date)).order_by(col(Platform.id)))
    ).all()
    latest = dict(
        (
            await session.execute(
                select(col(ObligationItem.platform_id), func.max(col(ObligationItem.period_end))).group_by(
                    col(ObligationItem.platform_id)
                )
            )
        ).all()
    )
    created = 0
    for platform_id, agreement_date in platforms:
        assert platform_id is not None  # a primary key
        if platform_id in latest:
            first = latest[platform_id] + dt.timedelta(days=1)
        else:
            first = month_start(max(agreement_date, start) if start else agreement_date)
        count = await open_periods(session, platform_id, first, through)
        if count:
            uow.audit(
                "obligation.periods_opened", "platform", platform_id,
                details={"items": count, "from": first, "through": through},
            )
        created += count
    return RollResult(len(platforms), created, through)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObligationView:
    id: int
    version: int
    platform_id: int
    kind: str
    period_start: dt.date
    period_end: dt.date
    due_on: dt.date
    submitted_on: dt.date | None
    reference: str
    submitted_by: str  # the operator's user name, "" when not submitted
    status: ObligationStatus
    reported_idr: int | None = None  # fee disbursement reports: the amount the platform stated


_VIEW_COLUMNS = (
    col(ObligationItem.id), col(ObligationItem.version), col(ObligationItem.platform_id), col(ObligationItem.kind),
    col(ObligationItem.period_start), col(ObligationItem.period_end), col(ObligationItem.due_on),
    col(ObligationItem.submitted_on), col(ObligationItem.reference), col(Operator.username),
    col(ObligationItem.reported_idr),
)


def _view(row: Row[*tuple[Any, ...]], today: dt.date) -> ObligationView:
    return ObligationView(
        row.id, row.version, row.platform_id, row.kind, row.period_start, row.period_end, row.due_on,
        row.submitted_on, row.reference, row.username or "", status_of(row.due_on, row.submitted_on, today),
        row.reported_idr,
    )


def _view_query() -> Select[*tuple[Any, ...]]:
    return select(*_VIEW_COLUMNS).outerjoin(Operator, col(Operator.id) == col(ObligationItem.submitted_by))


@dataclass(frozen=True)
class Calendar:
    """A platform's obligations for a run of periods: `items` holds up to ten per period."""

    platform_id: int
    periods: tuple[tuple[dt.date, dt.date], ...]  # oldest first
    items: tuple[ObligationView, ...]
    has_earlier: bool  # older periods exist before the first one shown
    has_later: bool

    def item(self, kind: str, period_start: dt.date) -> ObligationView | None:
        return next((i for i in self.items if i.kind == kind and i.period_start == period_start), None)


async def calendar(
    db: Database, actor: Actor, platform_id: int, *, until: dt.date | None = None, periods: int = 6,
    today: dt.date | None = None,
) -> Calendar:
    """The `periods` periods that start on or before `until` (default: the latest ones)."""
    actor.require("obligation.read")
    actor.require_platform(platform_id)
    today = today or dt.date.today()
    async with read_session(db) as session:
        starts = select(col(ObligationItem.period_start), col(ObligationItem.period_end)).where(
            col(ObligationItem.platform_id) == platform_id
        ).distinct()
        if until is not None:
            starts = starts.where(col(ObligationItem.period_start) <= until)
        shown = (
            await session.execute(starts.order_by(col(ObligationItem.period_start).desc()).limit(periods + 1))
        ).all()
        has_earlier = len(shown) > periods
        shown = sorted(shown[:periods])
        items: list[ObligationView] = []
        has_later = False
        if shown:
            rows = await session.execute(
                _view_query().where(
                    col(ObligationItem.platform_id) == platform_id,
                    col(ObligationItem.period_start) >= shown[0][0],
                    col(ObligationItem.period_start) <= shown[-1][0],
                )
            )
            items = [_view(row, today) for row in rows]
            later = await session.execute(
                select(col(ObligationItem.id)).where(
                    col(ObligationItem.platform_id) == platform_id, col(ObligationItem.period_start) > shown[-1][0]
                ).limit(1)
            )
            has_later = later.first() is not None
    return Calendar(platform_id, tuple((s, e) for s, e in shown), tuple(items), has_earlier, has_later)


async def overdue_items(db: Database, actor: Actor, platform_id: int, today: dt.date | None = None) -> list[ObligationView]:
    """Every overdue item of one platform, oldest due first (what the office chases)."""
    actor.require("obligation.read")
    actor.require_platform(platform_id)
    today = today or dt.date.today()
    async with read_session(db) as session:
        rows = await session.execute(
            _view_query()
            .where(
                col(ObligationItem.platform_id) == platform_id,
                col(ObligationItem.submitted_on).is_(None),
                col(ObligationItem.due_on) < today,
            )
            .order_by(col(ObligationItem.due_on), col(ObligationItem.kind))
        )
        return [_view(row, today) for row in rows]


async def counts_by_platform(session: AsyncSession, today: dt.date) -> dict[int, tuple[int, int, dt.date | None]]:
    """platform id -> (overdue, open and not yet due, last period end scheduled)."""
    pending = col(ObligationItem.submitted_on).is_(None)
    overdue = case((and_(pending, col(ObligationItem.due_on) < today), 1), else_=0)
    not_yet_due = case((and_(pending, col(ObligationItem.due_on) >= today), 1), else_=0)
    rows = await session.execute(
        select(
            col(ObligationItem.platform_id), func.sum(overdue), func.sum(not_yet_due),
            func.max(col(ObligationItem.period_end)),
        ).group_by(col(ObligationItem.platform_id))
    )
    return {row[0]: (int(row[1] or 0), int(row[2] or 0), row[3]) for row in rows}


# --- recording a submission -------------------------------------------------------------------


@operation
async def record_submission(
    uow: UnitOfWork,
    item_id: int,
    submitted_on: str | dt.date,
    reference: str,
    *,
    expected_version: int,
    reported_idr: int | str | None = None,
    today: dt.date | None = None,
) -> ObligationView:
    """Record that the platform delivered this period's report: when, and its reference; a fee
    disbursement report also states the amount the platform says it passed on to providers."""
    uow.actor.require("obligation.record")
    today = today or dt.date.today()
    day = validators.iso_date(submitted_on, "submitted_on", not_after=today)
    reference = validators.require_text(reference, "reference")
    if reported_idr is not None and str(reported_idr).strip() != "":
        reported: int | None = validators.money(reported_idr, "reported_idr")
    else:
        reported = None
    item = await uow.session.get(ObligationItem, item_id)
    if item is None:
        raise NotFound("obligation.not_found", id=item_id)
    uow.actor.require_platform(item.platform_id)
    if item.version != expected_version:
        raise Conflict("record.changed")
    if item.submitted_on is not None:
        raise RuleViolation("obligation.already_submitted", date=item.submitted_on.isoformat())
    if day < item.period_start:
        raise InvalidInput(
            "obligation.before_period", field="submitted_on", value=day.isoformat(),
            start=item.period_start.isoformat(),
        )
    if item.kind == ObligationKind.DISBURSE_FEES and reported is None:
        raise InvalidInput("obligation.amount_required", field="reported_idr")
    if item.kind != ObligationKind.DISBURSE_FEES and reported is not None:
        raise InvalidInput("obligation.amount_not_reported", field="reported_idr")
    item.submitted_on = day
    item.reference = reference
    item.submitted_by = uow.actor.operator_id
    item.reported_idr = reported
    amounts = {"reported_idr": reported} if reported is not None else {}
    uow.audit(
        "obligation.submitted", "obligation_item", item.id,
        before={"submitted_on": None, "reference": ""},
        after={"submitted_on": day, "reference": reference, **amounts},
        details={
            "platform_id": item.platform_id, "kind": item.kind, "period_start": item.period_start,
            "due_on": item.due_on, "late": day > item.due_on,
        },
    )
    await uow.session.flush()
    row = (await uow.session.execute(_view_query().where(col(ObligationItem.id) == item.id))).one()
    return _view(row, today)


# --- checking the fee disbursement report against the nets owed --------------------------------


@dataclass(frozen=True)
class ProviderNet:
    provider: str
    lines: int
    net_idr: int


@dataclass(frozen=True)
class FeeDisbursementCheck:
    """One platform's period: the training fees the PMO paid it, what it owes on to providers,
    and what its report says it disbursed."""

    platform_id: int
    period_start: dt.date
    period_end: dt.date
    lines: int  # fee lines recorded paid to the platform in the period
    gross_idr: int  # what the PMO paid the platform
    commission_idr: int  # what the platform keeps
    owed_idr: int  # what it owes on to providers: the lines' nets
    by_provider: tuple[ProviderNet, ...]  # largest first
    item_id: int | None  # the period's "disburse fees" obligation item, if opened
    submitted_on: dt.date | None
    reported_idr: int | None  # None: no report (with its amount) recorded yet

    @property
    def difference_idr(self) -> int | None:
        """Reported less owed: negative when the platform reports passing on less than it owes."""
        return None if self.reported_idr is None else self.reported_idr - self.owed_idr

    @property
    def agrees(self) -> bool:
        return self.difference_idr == 0


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


async def nets_owed(session: AsyncSession, platform_id: int, start: dt.date, end: dt.date) -> tuple[int, int, int, int, tuple[ProviderNet, ...]]:
    """(lines, gross, commission, net, by provider) of the platform's fee lines recorded paid
    between `start` and `end` (inclusive, by the UTC date of the result)."""
    line, batch, provider = PaymentLine.__table__, PaymentBatch.__table__, Provider.__table__
    paid_in_period = and_(
        batch.c.kind == BatchKind.TRAINING_FEE,
        batch.c.platform_id == platform_id,
        line.c.status == LineStatus.PAID,
        line.c.reconciled_at >= _day_start(start),
        line.c.reconciled_at < _day_start(end + dt.timedelta(days=1)),
    )
    rows = (
        await session.execute(
            select(
                provider.c.name, func.count(), func.sum(line.c.amount_idr), func.sum(line.c.commission_idr),
                func.sum(line.c.net_idr),
            )
            .select_from(line.join(batch, batch.c.id == line.c.batch_id).join(provider, provider.c.id == line.c.provider_id))
            .where(paid_in_period)
            .group_by(provider.c.id, provider.c.name)
            .order_by(func.sum(line.c.net_idr).desc(), provider.c.name)
        )
    ).all()
    # int(): PostgreSQL sums BIGINT into NUMERIC.
    by_provider = tuple(ProviderNet(name, int(count), int(net)) for name, count, _gross, _commission, net in rows)
    return (
        sum(int(row[1]) for row in rows), sum(int(row[2]) for row in rows), sum(int(row[3]) for row in rows),
        sum(int(row[4]) for row in rows), by_provider,
    )


async def fee_disbursement_check(
    db: Database, actor: Actor, platform_id: int, period_start: dt.date
) -> FeeDisbursementCheck:
    """The platform's "fees disbursed to providers" report of the period that starts on (or
    contains) `period_start`, set against the nets owed on the fee lines paid to it then."""
    actor.require("obligation.read")
    actor.require_platform(platform_id)
    async with read_session(db) as session:
        if await session.get(Platform, platform_id) is None:
            raise NotFound("platform.not_found", code=str(platform_id))
        item = (
            await session.execute(
                select(ObligationItem).where(
                    col(ObligationItem.platform_id) == platform_id,
                    col(ObligationItem.kind) == ObligationKind.DISBURSE_FEES,
                    col(ObligationItem.period_start) <= period_start,
                    col(ObligationItem.period_end) >= period_start,
                )
            )
        ).scalar_one_or_none()
        if item is not None:
            start, end = item.period_start, item.period_end
        else:
            months, _due_days = await _period_settings(session)
            start, end = periods_between(month_start(period_start), month_start(period_start), months)[0]
        lines, gross, commission, owed, by_provider = await nets_owed(session, platform_id, start, end)
    return FeeDisbursementCheck(
        platform_id, start, end, lines, gross, commission, owed, by_provider,
        item.id if item else None, item.submitted_on if item else None, item.reported_idr if item else None,
    )
