"""Failed payouts and sending them again.

A line the payer reported as failed released its item, but the item comes back to the
candidates only once its payee's account differs from the one that failed (payables.py), or when
an approver records why it may go to the same account again: `allow_retry`, audited with the
reason (a payer's timeout, an account reopened).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from store.actor import Actor
from store.engine import Database
from store.errors import InvalidInput, NotFound, RuleViolation
from store.models import LineStatus, PaymentBatch, PaymentLine, RetryOverride
from store.uow import unit_of_work

LINE = PaymentLine.__table__


@dataclass(frozen=True)
class RetryAllowed:
    line_id: int
    item_key: str
    payee_name: str
    account: str
    amount_idr: int


async def allow_retry(db: Database, actor: Actor, line_id: int, reason: str) -> RetryAllowed:
    """Let a failed line's item be paid again to the same account (the next batch takes it)."""
    actor.require("payment.approve")
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("payment.reason_required", field="payment_reason")
    async with unit_of_work(db, actor) as uow:
        session = uow.session
        line = (await session.execute(select(LINE).where(LINE.c.id == line_id))).first()
        if line is None:
            raise NotFound("payment.line_not_found", line=line_id)
        platform_id = (
            await session.execute(select(PaymentBatch.platform_id).where(PaymentBatch.id == line.batch_id))
        ).scalar_one()
        actor.require_platform(platform_id)
        if line.status != LineStatus.FAILED:
            raise RuleViolation("payment.retry_needs_failed", line=line_id, status=line.status)
        latest = (
            await session.execute(
                select(func.max(LINE.c.id)).where(LINE.c.item_key == line.item_key, LINE.c.status == LineStatus.FAILED)
            )
        ).scalar_one()
        if latest != line_id:
            raise RuleViolation("payment.retry_not_latest", line=line_id, latest=latest)
        taken = (
            await session.execute(select(RetryOverride.id).where(RetryOverride.failed_line_id == line_id))
        ).scalar()
        if taken is not None:
            raise RuleViolation("payment.retry_already_allowed", line=line_id)
        session.add(RetryOverride(failed_line_id=line_id, reason=reason, allowed_by=actor.operator_id))
        account = f"{line.account_channel} {line.account_institution} {line.account_number}"
        uow.audit(
            "payment_line.retry_allowed", "payment_line", line_id, reason=reason,
            details={"item_key": line.item_key, "payee": line.payee_name, "account": account,
                     "amount_idr": line.amount_idr, "failure_reason": line.failure_reason},
        )
        await session.flush()
        return RetryAllowed(line_id, line.item_key, line.payee_name, account, line.amount_idr)
