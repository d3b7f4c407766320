"""Before money leaves: a batch, its lines and its approvals must agree with its audit trail.

The database refuses changes to a submitted batch (migration 0601), but a draft can still be
edited by a database login, and rows can be forged around the triggers by someone who controls
the server. The audit trail is the independent record: preparation and submission record a digest
of the lines (what is paid, to whom, on which account), every approval records its approver. The
export recomputes all of it from the tables and refuses to write a file when anything disagrees.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.errors import RuleViolation
from store.models import AuditEvent, PaymentLine
from store.services.payments.batch_rules import approvers_of

LINE = PaymentLine.__table__
PAGE = 20_000
DIGEST_COLUMNS = (
    LINE.c.id, LINE.c.item_key, LINE.c.payee_name, LINE.c.account_channel, LINE.c.account_institution,
    LINE.c.account_number, LINE.c.amount_idr, LINE.c.commission_idr, LINE.c.net_idr,
)
APPROVAL_ACTIONS = ("payment_batch.approval_given", "payment_batch.approved")


async def line_digest(session: AsyncSession, batch_id: int) -> str:
    """sha256 over every line of the batch, in id order: what is paid, to whom, where."""
    digest = hashlib.sha256()
    last_id = 0
    while True:
        page = (
            await session.execute(
                select(*DIGEST_COLUMNS).where(LINE.c.batch_id == batch_id, LINE.c.id > last_id)
                .order_by(LINE.c.id).limit(PAGE)
            )
        ).all()
        if not page:
            return digest.hexdigest()
        for row in page:
            digest.update("\x1f".join(str(value) for value in row).encode("utf-8"))
            digest.update(b"\x1e")
        last_id = page[-1].id


# A batch's audit events in order: (action, operator id, details).
_Trail = list[tuple[str, int | None, dict[str, Any]]]


async def _trail(session: AsyncSession, batch_id: int) -> _Trail:
    rows = await session.execute(
        select(col(AuditEvent.action), col(AuditEvent.operator_id), col(AuditEvent.changes))
        .where(col(AuditEvent.entity) == "payment_batch", col(AuditEvent.entity_id) == str(batch_id))
        .order_by(col(AuditEvent.id))
    )
    return [(action, operator, json.loads(changes).get("details", {})) for action, operator, changes in rows]


def _last(trail: _Trail, action: str) -> dict[str, Any] | None:
    found = [details for name, _operator, details in trail if name == action]
    return found[-1] if found else None


async def check_against_audit(session: AsyncSession, batch: Any) -> None:
    """Raise the first disagreement between the batch (as stored now) and its audit trail."""
    trail = await _trail(session, batch.id)
    prepared, submitted = _last(trail, "payment_batch.prepared"), _last(trail, "payment_batch.submitted")
    if prepared is None or submitted is None or _last(trail, "payment_batch.approved") is None:
        raise RuleViolation("payment.audit.trail_incomplete", batch=batch.id)
    recorded = (prepared.get("line_count"), prepared.get("total_idr"), submitted.get("approvals_needed"))
    if recorded != (batch.line_count, batch.total_idr, batch.approvals_needed):
        raise RuleViolation("payment.audit.totals_differ", batch=batch.id)
    digest = await line_digest(session, batch.id)
    if digest != prepared.get("line_digest") or digest != submitted.get("line_digest"):
        raise RuleViolation("payment.audit.lines_differ", batch=batch.id)
    approved_in_trail = [operator for name, operator, _details in trail if name in APPROVAL_ACTIONS]
    approvers = await approvers_of(session, batch.id)
    if (
        len(approved_in_trail) != len(set(approved_in_trail))
        or set(approved_in_trail) != approvers
        or len(approvers) < batch.approvals_needed
    ):
        raise RuleViolation("payment.audit.approvals_differ", batch=batch.id)


async def check_unchanged_since_prepared(session: AsyncSession, batch_id: int) -> str:
    """The lines' digest at submission, refused when it is not the one recorded at preparation."""
    prepared = _last(await _trail(session, batch_id), "payment_batch.prepared")
    digest = await line_digest(session, batch_id)
    if prepared is None or prepared.get("line_digest") != digest:
        raise RuleViolation("payment.audit.lines_differ", batch=batch_id)
    return digest
