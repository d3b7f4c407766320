"""The work waiting for an operator: one count per queue their roles own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import SQLColumnExpression, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from store.actor import Actor
from store.engine import Database
from store.models import (
    ApplicationState,
    BatchApproval,
    BatchState,
    Course,
    CourseState,
    Enrollment,
    EnrollmentStatus,
    ObligationItem,
    PaymentBatch,
    PlatformApplication,
    Provider,
    ProviderPlatform,
    ProviderState,
    Role,
    Wave,
    WaveState,
)
from store.uow import read_session


@dataclass(frozen=True)
class QueueCount:
    key: str  # catalog key of the queue's name: "queue.<key>"
    area: str  # the console area that works this queue
    count: int


Counter = Callable[[AsyncSession, Actor, dt.date], Awaitable[int]]


def _count(model: type[SQLModel], *conditions: SQLColumnExpression[bool]) -> Counter:
    async def count(session: AsyncSession, _actor: Actor, _today: dt.date) -> int:
        return (await session.execute(select(func.count()).select_from(model).where(*conditions))).scalar_one()

    return count


async def _overdue(session: AsyncSession, actor: Actor, today: dt.date) -> int:
    query = select(func.count()).select_from(ObligationItem).where(
        col(ObligationItem.submitted_on).is_(None), col(ObligationItem.due_on) < today
    )
    if actor.is_platform_staff:
        query = query.where(col(ObligationItem.platform_id) == actor.platform_id)
    return (await session.execute(query)).scalar_one()


def _own_providers(state: ProviderState) -> Counter:
    async def count(session: AsyncSession, actor: Actor, _today: dt.date) -> int:
        query = (
            select(func.count())
            .select_from(Provider)
            .join(ProviderPlatform, col(ProviderPlatform.provider_id) == Provider.id)
            .where(col(Provider.state) == state, col(ProviderPlatform.platform_id) == actor.platform_id)
        )
        return (await session.execute(query)).scalar_one()

    return count


async def _waves_to_sweep(session: AsyncSession, _actor: Actor, today: dt.date) -> int:
    """Waves in progress, not yet swept, whose purchase deadline has passed (a handful of rows:
    the date arithmetic is done here rather than in two SQL dialects)."""
    waves = (
        await session.execute(
            select(col(Wave.starts_on), col(Wave.purchase_deadline_days)).where(
                col(Wave.state) == WaveState.IN_PROGRESS, col(Wave.swept_at).is_(None)
            )
        )
    ).all()
    return sum(1 for starts_on, days in waves if starts_on + dt.timedelta(days=days) < today)


async def _batches_to_approve(session: AsyncSession, actor: Actor, _today: dt.date) -> int:
    """Submitted batches waiting for *this* approver: not prepared by them, not approved by them yet."""
    approved = select(col(BatchApproval.batch_id)).where(col(BatchApproval.approver_id) == actor.operator_id)
    query = select(func.count()).select_from(PaymentBatch).where(
        col(PaymentBatch.state) == BatchState.SUBMITTED,
        col(PaymentBatch.prepared_by) != actor.operator_id,
        col(PaymentBatch.id).not_in(approved),
    )
    return (await session.execute(query)).scalar_one()


# role -> [(queue key, area, counter)]
QUEUES: dict[str, list[tuple[str, str, Counter]]] = {
    Role.REVIEWER: [
        ("applications_submitted", "applications",
         _count(PlatformApplication, col(PlatformApplication.state) == ApplicationState.SUBMITTED)),
        ("applications_in_review", "applications",
         _count(PlatformApplication, col(PlatformApplication.state) == ApplicationState.IN_REVIEW)),
        ("applications_needs_info", "applications",
         _count(PlatformApplication, col(PlatformApplication.state) == ApplicationState.NEEDS_INFO)),
        # Reviewers and coordinators record the platforms' reports (obligation.record), so they chase them.
        ("obligations_overdue", "platforms", _overdue),
    ],
    Role.APPROVER: [
        ("applications_recommended", "applications",
         _count(PlatformApplication, col(PlatformApplication.state) == ApplicationState.RECOMMENDED)),
        ("batches_submitted", "payments", _batches_to_approve),
    ],
    Role.CURATOR: [
        ("providers_submitted", "providers", _count(Provider, col(Provider.state) == ProviderState.SUBMITTED)),
        ("providers_in_curation", "providers", _count(Provider, col(Provider.state) == ProviderState.IN_CURATION)),
        ("courses_submitted", "providers", _count(Course, col(Course.state) == CourseState.SUBMITTED)),
    ],
    Role.COORDINATOR: [
        ("obligations_overdue", "platforms", _overdue),
        ("waves_to_sweep", "participants", _waves_to_sweep),
        # Under way, or cut short and to be finished (it keeps every other wave from being selected).
        ("waves_selecting", "participants", _count(Wave, col(Wave.state) == WaveState.SELECTING)),
        ("completions_flagged", "participants",
         _count(Enrollment, col(Enrollment.flagged_fast), col(Enrollment.flag_cleared_at).is_(None),
                col(Enrollment.status) == EnrollmentStatus.COMPLETED)),
    ],
    Role.FINANCE: [
        ("batches_draft", "payments", _count(PaymentBatch, col(PaymentBatch.state) == BatchState.DRAFT)),
        ("batches_to_send", "payments", _count(PaymentBatch, col(PaymentBatch.state) == BatchState.APPROVED)),
        ("batches_to_reconcile", "payments", _count(PaymentBatch, col(PaymentBatch.state) == BatchState.SENT)),
    ],
    Role.ADMIN: [("obligations_overdue", "platforms", _overdue)],
    Role.AUDITOR: [("obligations_overdue", "platforms", _overdue)],
    Role.PLATFORM: [
        ("obligations_overdue", "platforms", _overdue),
        ("own_providers_inventoried", "providers", _own_providers(ProviderState.INVENTORIED)),
        ("own_providers_rejected", "providers", _own_providers(ProviderState.REJECTED)),
    ],
}


async def work_waiting(db: Database, actor: Actor, today: dt.date | None = None) -> list[QueueCount]:
    today = today or dt.date.today()
    seen: set[str] = set()
    result: list[QueueCount] = []
    async with read_session(db, replica=True) as session:
        for role in Role:
            if role not in actor.roles:
                continue
            for key, area, build in QUEUES.get(role, []):
                if key in seen:
                    continue
                seen.add(key)
                result.append(QueueCount(key, area, await build(session, actor, today)))
    return result
