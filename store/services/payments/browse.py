"""Reading payments: batch lists and details, lines page by page, scopes, budgets per wave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, case, desc, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import NotFound
from store.models import (
    AccountOwner,
    BatchApproval,
    BatchKind,
    BatchState,
    Operator,
    PaymentBatch,
    PaymentLine,
    PaymentRetryOverride,
    PayoutAccount,
    Platform,
    Provider,
    Wave,
)
from store.paging import Cursor, Page, keyset, page_of
from store.sorting import Order, ordered, sort_key
from store.provinces import PROVINCES
from store.services import audit_log
from store.services.payments.batch_rules import BatchActions, judge_batch
from store.services.payments.batches import batch_row
from store.services.payments.views import BatchRow, batch_rows, to_batch_row
from store.uow import read_session

LINE = PaymentLine.__table__
BATCH = PaymentBatch.__table__
GROUPS_SHOWN = 50
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class BatchFilter:
    state: str = ""
    kind: str = ""
    sort: str = "newest"  # one of BATCH_ORDERS


# The orders the batches list offers (store/sorting.py).
BATCH_ORDERS = {
    "newest": Order((BATCH.c.id,), descending=True),
    "largest": Order((BATCH.c.total_idr, BATCH.c.id), descending=True),
    "state": Order((BATCH.c.state, BATCH.c.id)),
}


def _visible(query: Select[*Ts], actor: Actor) -> Select[*Ts]:
    """Platform staff see only the training fees of their own platform."""
    if actor.is_platform_staff:
        return query.where(col(PaymentBatch.platform_id) == actor.platform_id)
    return query


async def list_batches(
    db: Database, actor: Actor, filters: BatchFilter = BatchFilter(), cursor: Cursor | None = None, limit: int = 100
) -> Page[BatchRow]:
    """One keyset page in the filter's order (newest first unless told)."""
    actor.require("payment.read")
    query = _visible(batch_rows(), actor)
    if filters.state:
        query = query.where(col(PaymentBatch.state) == filters.state)
    if filters.kind:
        query = query.where(col(PaymentBatch.kind) == filters.kind)
    async with read_session(db) as session:
        found = (await session.execute(ordered(query, BATCH_ORDERS, filters.sort, cursor, limit))).all()
    page = page_of(found, limit, sort_key, cursor=cursor)
    return page.with_rows([to_batch_row(row) for row in page.rows])


@dataclass(frozen=True)
class GroupTotal:
    label: str
    count: int
    total_idr: int  # gross
    net_idr: int  # training fees: what the platform owes on to the provider (incentives: = total)


@dataclass(frozen=True)
class LineCounts:
    pending: int
    paid: int
    failed: int
    retries: int  # lines that pay again an item whose earlier line failed


@dataclass(frozen=True)
class BatchDetail:
    batch: BatchRow
    group_by: str  # "provider" (training fees) or "province" (incentives)
    groups: list[GroupTotal]  # the largest first, at most GROUPS_SHOWN
    group_count: int
    counts: LineCounts
    approvers: list[str]
    reject_reason: str
    cancel_reason: str
    next_version_id: int | None
    trail: list[audit_log.EventView]
    # What the reading operator may do now, and what an approval would do (batch_rules).
    actions: BatchActions


async def _groups(session: AsyncSession, batch: BatchRow) -> tuple[str, list[GroupTotal], int]:
    sums = (func.count(), func.sum(LINE.c.amount_idr), func.sum(LINE.c.net_idr))
    if batch.kind == BatchKind.TRAINING_FEE:
        query = select(col(Provider.name), *sums).join(
            Provider, col(Provider.id) == LINE.c.provider_id
        ).group_by(col(Provider.id), col(Provider.name))
        group_by = "provider"
    else:
        label = LINE.c.province_code
        query = select(label, *sums).group_by(label)
        group_by = "province"
    grouped = (await session.execute(query.where(LINE.c.batch_id == batch.id).order_by(desc(func.sum(LINE.c.amount_idr))))).all()
    groups = [
        GroupTotal(PROVINCES.get(name, name) if group_by == "province" else name, int(count), int(total), int(net))
        for name, count, total, net in grouped[:GROUPS_SHOWN]
    ]
    return group_by, groups, len(grouped)


async def batch_detail(db: Database, actor: Actor, batch_id: int) -> BatchDetail:
    """The batch, its summary by provider or province, line counts, approvals and its trail."""
    actor.require("payment.read")
    async with read_session(db) as session:
        raw = (await session.execute(select(BATCH).where(BATCH.c.id == batch_id))).first()
        if raw is None:
            raise NotFound("payment.batch_not_found", batch=batch_id)
        actor.require_platform(raw.platform_id)
        batch = await batch_row(session, batch_id)
        group_by, groups, group_count = await _groups(session, batch)
        pending, paid, failed, retries = (
            await session.execute(
                select(
                    func.coalesce(func.sum(case((LINE.c.status == "pending", 1), else_=0)), 0),
                    func.coalesce(func.sum(case((LINE.c.status == "paid", 1), else_=0)), 0),
                    func.coalesce(func.sum(case((LINE.c.status == "failed", 1), else_=0)), 0),
                    func.count(LINE.c.retry_of_line_id),
                ).where(LINE.c.batch_id == batch_id)
            )
        ).one()
        approvers = list(
            (
                await session.execute(
                    select(col(Operator.username))
                    .join(BatchApproval, col(BatchApproval.approver_id) == Operator.id)
                    .where(col(BatchApproval.batch_id) == batch_id)
                    .order_by(col(BatchApproval.id))
                )
            ).scalars()
        )
        next_version = (await session.execute(select(BATCH.c.id).where(BATCH.c.previous_batch_id == batch_id))).scalar()
        actions = await judge_batch(session, actor, raw)
    trail = await audit_log.history(db, actor, "payment_batch", [batch_id])
    return BatchDetail(
        batch, group_by, groups, group_count, LineCounts(int(pending), int(paid), int(failed), int(retries)),
        approvers, raw.reject_reason, raw.cancel_reason, next_version, trail, actions,
    )


@dataclass(frozen=True)
class LineRow:
    id: int
    item_key: str
    instalment: int | None
    province_code: str
    payee_name: str  # who is paid: the participant (incentive) or the platform (training fee)
    account_channel: str
    account_institution: str
    account_number: str
    amount_idr: int  # what the payee is paid: the incentive, or the gross fee
    commission_idr: int  # training fee: what the platform keeps
    net_idr: int  # training fee: what the platform owes on to the provider
    status: str
    live: bool
    payer_reference: str
    failure_reason: str
    retry_of_line_id: int | None
    failure_kind: str  # "account" or "other" once failed
    provider_name: str  # training fee: the provider the platform passes the fee on to ("" for incentives)
    retry_allowed: bool  # an override lets a line that failed for an account reason be paid to the same account

    @property
    def waits_for_account(self) -> bool:
        """Failed for an account reason, no override: its item returns only to a changed account."""
        return self.status == "failed" and self.failure_kind == "account" and not self.retry_allowed


_LINE_OWN = [name for name in LineRow.__dataclass_fields__ if name not in ("provider_name", "retry_allowed")]


async def batch_lines(
    db: Database, actor: Actor, batch_id: int, cursor: Cursor | None = None, limit: int = 100, *, status: str = ""
) -> Page[LineRow]:
    """The batch's lines in id order, one keyset page (a batch may hold 800,000 lines)."""
    actor.require("payment.read")
    override = PaymentRetryOverride.__table__
    provider = Provider.__table__
    columns = [
        *[LINE.c[name] for name in _LINE_OWN],
        func.coalesce(provider.c.name, "").label("provider_name"),
        exists().where(override.c.line_id == LINE.c.id).label("retry_allowed"),
    ]
    query = (
        select(*columns)
        .select_from(LINE.outerjoin(provider, provider.c.id == LINE.c.provider_id))
        .where(LINE.c.batch_id == batch_id)
    )
    if status:
        query = query.where(LINE.c.status == status)
    async with read_session(db) as session:
        platform_id = (await session.execute(select(BATCH.c.platform_id).where(BATCH.c.id == batch_id))).first()
        if platform_id is None:
            raise NotFound("payment.batch_not_found", batch=batch_id)
        actor.require_platform(platform_id[0])
        found = (await session.execute(keyset(query, [LINE.c.id], cursor, limit))).all()
    rows = [LineRow(**{**row._mapping, "retry_allowed": bool(row.retry_allowed)}) for row in found]
    return page_of(rows, limit, lambda row: (row.id,), cursor=cursor)


@dataclass(frozen=True)
class ScopeChoices:
    platforms: list[tuple[str, str]]  # (code, name)
    waves: list[tuple[int, int]]  # (number, year)
    payers: list[str]  # institutions holding participants' accounts


async def scope_choices(db: Database, actor: Actor) -> ScopeChoices:
    actor.require("payment.prepare")
    async with read_session(db) as session:
        platforms = [
            (code, name)
            for code, name in await session.execute(select(col(Platform.code), col(Platform.name)).order_by(col(Platform.name)))
        ]
        waves = [
            (number, year)
            for number, year in await session.execute(select(col(Wave.number), col(Wave.year)).order_by(col(Wave.number)))
        ]
        payers = list(
            (
                await session.execute(
                    select(col(PayoutAccount.institution))
                    .where(col(PayoutAccount.owner_kind) == AccountOwner.PARTICIPANT)
                    .distinct()
                    .order_by(col(PayoutAccount.institution))
                )
            ).scalars()
        )
    return ScopeChoices(platforms, waves, payers)


@dataclass(frozen=True)
class WaveBudget:
    number: int
    year: int
    budget_idr: int
    approved_idr: int  # approved, not yet sent
    sent_idr: int  # sent, no result yet
    paid_idr: int

    @property
    def used_idr(self) -> int:
        return self.approved_idr + self.sent_idr + self.paid_idr


async def wave_budgets(db: Database, actor: Actor) -> list[WaveBudget]:
    """Incentive money per wave against its budget, from the batches' totals (no line scan)."""
    actor.require("payment.budget")
    batch = BATCH.c

    def total_in(state: BatchState, amount: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((batch.state == state, amount), else_=0)), 0)

    query = (
        select(
            col(Wave.number), col(Wave.year), col(Wave.budget_idr),
            total_in(BatchState.APPROVED, batch.total_idr - batch.failed_idr),
            total_in(BatchState.SENT, batch.total_idr - batch.paid_idr - batch.failed_idr),
            func.coalesce(
                func.sum(case((batch.state.in_((BatchState.SENT, BatchState.RECONCILED)), batch.paid_idr), else_=0)), 0
            ),
        )
        .select_from(Wave)
        .outerjoin(BATCH, (batch.wave_id == Wave.id) & (batch.kind == BatchKind.INCENTIVE))
        .group_by(col(Wave.id), col(Wave.number), col(Wave.year), col(Wave.budget_idr))
        .order_by(col(Wave.number))
    )
    async with read_session(db) as session:
        found = (await session.execute(query)).all()
    return [WaveBudget(*(int(value) for value in row)) for row in found]
