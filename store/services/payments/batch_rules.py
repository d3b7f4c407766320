"""The rules of a payment batch's life, in one place: which action applies in which state with
which permission, maker-checker, the wave's budget. The operations in batches.py and files.py
enforce them; `batch_actions` judges them all for one operator, so the batch screen shows only
what the store would accept, and its approval confirmation says what the approval would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.allowed import Actions, StateRule, judge_table
from store.engine import Database
from store.errors import MitraError, NotFound, RuleViolation
from store.models import BatchApproval, BatchKind, BatchState, PaymentBatch, Wave
from store.uow import read_session

BATCH = PaymentBatch.__table__
# Approved batches commit budget: what they hold, less what failed and was released.
COMMITTED_STATES = (BatchState.APPROVED, BatchState.SENT, BatchState.RECONCILED)
OPEN_STATES = (BatchState.DRAFT, BatchState.SUBMITTED)

BATCH_RULES: dict[str, StateRule] = {
    "submit": StateRule("payment.prepare", (BatchState.DRAFT,), "payment.submit_needs_draft"),
    "approve": StateRule("payment.approve", (BatchState.SUBMITTED,), "payment.approve_needs_submitted"),
    "reject": StateRule("payment.approve", (BatchState.SUBMITTED,), "payment.reject_needs_submitted"),
    "cancel": StateRule("payment.prepare", OPEN_STATES, "payment.cancel_needs_open"),
    "export": StateRule("payment.send", (BatchState.APPROVED, BatchState.SENT), "payment.export_needs_approved"),
    "reconcile": StateRule("payment.reconcile", (BatchState.SENT,), "payment.reconcile_needs_sent"),
    "new_version": StateRule("payment.prepare", (BatchState.REJECTED,), "payment.version_needs_rejected"),
}


def enforce(action: str, batch: Any) -> None:
    BATCH_RULES[action].enforce(batch.state, batch=batch.id)


async def approvers_of(session: AsyncSession, batch_id: int) -> set[int]:
    return set(
        (
            await session.execute(
                select(col(BatchApproval.approver_id)).where(col(BatchApproval.batch_id) == batch_id)
            )
        ).scalars()
    )


def checker_refusal(action: str, actor: Actor, batch: Any, approvers: set[int]) -> RuleViolation | None:
    """Maker-checker: the preparer neither approves nor rejects; nobody approves twice."""
    if batch.prepared_by == actor.operator_id:
        return RuleViolation(f"payment.preparer_cannot_{action}", batch=batch.id)
    if action == "approve" and actor.operator_id in approvers:
        return RuleViolation("payment.already_approved", batch=batch.id)
    return None


async def committed_budget(session: AsyncSession, wave_id: int, *, excluding: int | None = None) -> int:
    """What the wave's approved, sent and reconciled batches hold, less their failed lines."""
    query = select(func.coalesce(func.sum(BATCH.c.total_idr - BATCH.c.failed_idr), 0)).where(
        BATCH.c.wave_id == wave_id, BATCH.c.state.in_(COMMITTED_STATES)
    )
    if excluding is not None:
        query = query.where(BATCH.c.id != excluding)
    return int((await session.execute(query)).scalar_one())


async def budget_refusal(session: AsyncSession, batch: Any) -> RuleViolation | None:
    """An incentive batch must fit in its wave's budget with everything already approved."""
    if batch.kind != BatchKind.INCENTIVE:
        return None
    budget, number = (
        await session.execute(select(col(Wave.budget_idr), col(Wave.number)).where(col(Wave.id) == batch.wave_id))
    ).one()
    committed = await committed_budget(session, batch.wave_id, excluding=batch.id)
    if committed + batch.total_idr <= budget:
        return None
    return RuleViolation(
        "payment.over_budget", wave=number, budget_idr=budget, committed_idr=committed,
        batch_idr=batch.total_idr, short_idr=committed + batch.total_idr - budget,
    )


@dataclass(frozen=True)
class ApprovalPreview:
    """What an approval given now would do."""

    number: int  # this approval's number (1 = first)
    needed: int
    final: bool  # the batch would be approved


@dataclass(frozen=True)
class BatchActions:
    actions: Actions
    approval: ApprovalPreview


async def judge_batch(session: AsyncSession, actor: Actor, batch: Any) -> BatchActions:
    approvers = await approvers_of(session, batch.id)
    checks: dict[str, list[MitraError | None]] = {
        "approve": [checker_refusal("approve", actor, batch, approvers)],
        "reject": [checker_refusal("reject", actor, batch, approvers)],
        "submit": [RuleViolation("payment.no_candidates", scope=batch.id) if batch.line_count == 0 else None],
    }
    if batch.state == BatchState.SUBMITTED and actor.can("payment.approve"):
        checks["approve"].append(await budget_refusal(session, batch))
    if batch.state == BatchState.REJECTED:
        taken = (await session.execute(select(BATCH.c.id).where(BATCH.c.previous_batch_id == batch.id))).scalar()
        if taken is not None:
            checks["new_version"] = [RuleViolation("payment.version_exists", batch=batch.id, version_batch=taken)]
    number = len(approvers) + 1
    preview = ApprovalPreview(number, batch.approvals_needed, number >= batch.approvals_needed)
    return BatchActions(judge_table(BATCH_RULES, actor, batch.state, checks, batch=batch.id), preview)


async def batch_actions(db: Database, actor: Actor, batch_id: int) -> BatchActions:
    """Which actions `actor` may take on the batch now (and why not), and what approving would do."""
    actor.require("payment.read")
    async with read_session(db) as session:
        batch = (await session.execute(select(BATCH).where(BATCH.c.id == batch_id))).first()
        if batch is None:
            raise NotFound("payment.batch_not_found", batch=batch_id)
        actor.require_platform(batch.platform_id)
        return await judge_batch(session, actor, batch)
