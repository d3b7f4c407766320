"""What the payment services hand to the console and the command line: plain frozen data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from store.models import BatchApproval, Operator, PaymentBatch, Platform, Wave


@dataclass(frozen=True)
class BatchRow:
    id: int
    kind: str
    state: str
    platform_code: str | None
    platform_name: str | None
    wave_number: int | None
    payer: str
    batch_version: int
    previous_batch_id: int | None
    line_count: int
    total_idr: int
    commission_idr: int
    paid_idr: int
    failed_idr: int
    approvals_needed: int
    approvals_given: int
    prepared_by: str
    prepared_at: dt.datetime
    version: int  # the record's version, for optimistic locking

    @property
    def next_approval(self) -> int:
        """The number of the approval an approver would give now (1 = first)."""
        return self.approvals_given + 1

    @property
    def next_approval_is_final(self) -> bool:
        return self.next_approval >= self.approvals_needed


def batch_rows() -> Select:
    """Batches with their scope's names, the preparer and the approvals given so far."""
    preparer = aliased(Operator)
    given = (
        select(func.count()).where(BatchApproval.batch_id == PaymentBatch.id).correlate(PaymentBatch).scalar_subquery()
    )
    return (
        select(
            PaymentBatch.id, PaymentBatch.kind, PaymentBatch.state, Platform.code.label("platform_code"),
            Platform.name.label("platform_name"), Wave.number.label("wave_number"), PaymentBatch.payer,
            PaymentBatch.batch_version, PaymentBatch.previous_batch_id, PaymentBatch.line_count,
            PaymentBatch.total_idr, PaymentBatch.commission_idr, PaymentBatch.paid_idr, PaymentBatch.failed_idr,
            PaymentBatch.approvals_needed, given.label("approvals_given"),
            preparer.username.label("prepared_by"), PaymentBatch.prepared_at, PaymentBatch.version,
        )
        .select_from(PaymentBatch)
        .join(preparer, preparer.id == PaymentBatch.prepared_by)
        .outerjoin(Platform, Platform.id == PaymentBatch.platform_id)
        .outerjoin(Wave, Wave.id == PaymentBatch.wave_id)
    )


def to_batch_row(row) -> BatchRow:
    # A sorted list adds its key columns (sort_0 ...: store/sorting.py); they are not the batch's.
    return BatchRow(**{name: value for name, value in row._mapping.items() if not name.startswith("sort_")})
