"""What the payment services hand to the console and the command line: plain frozen data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import aliased
from sqlmodel import col

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


def batch_rows() -> Select[*tuple[Any, ...]]:
    """Batches with their scope's names, the preparer and the approvals given so far."""
    preparer = aliased(Operator)
    given = (
        select(func.count())
        .where(col(BatchApproval.batch_id) == PaymentBatch.id)
        .correlate(PaymentBatch)
        .scalar_subquery()
    )
    return (
        select(
            col(PaymentBatch.id), col(PaymentBatch.kind), col(PaymentBatch.state),
            col(Platform.code).label("platform_code"), col(Platform.name).label("platform_name"),
            col(Wave.number).label("wave_number"), col(PaymentBatch.payer), col(PaymentBatch.batch_version),
            col(PaymentBatch.previous_batch_id), col(PaymentBatch.line_count), col(PaymentBatch.total_idr),
            col(PaymentBatch.commission_idr), col(PaymentBatch.paid_idr), col(PaymentBatch.failed_idr),
            col(PaymentBatch.approvals_needed), given.label("approvals_given"),
            col(preparer.username).label("prepared_by"), col(PaymentBatch.prepared_at), col(PaymentBatch.version),
        )
        .select_from(PaymentBatch)
        .join(preparer, col(preparer.id) == PaymentBatch.prepared_by)
        .outerjoin(Platform, col(Platform.id) == PaymentBatch.platform_id)
        .outerjoin(Wave, col(Wave.id) == PaymentBatch.wave_id)
    )


def to_batch_row(row: Row[*tuple[Any, ...]]) -> BatchRow:
    # A sorted list adds its key columns (sort_0 ...: store/sorting.py); they are not the batch's.
    return BatchRow(**{name: value for name, value in row._mapping.items() if not name.startswith("sort_")})
