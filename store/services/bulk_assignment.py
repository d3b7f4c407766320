"""Assigning many participants to one listed course: a preview (count and total cost), then the
assignment in batches with progress, each batch one unit of work.

The participant-side rules are the same SQL expression as for a single assignment
(`enrollments.refusal`); participants it refuses are listed with the reason, the rest are
assigned. The listing is checked again for every batch: if it closes meanwhile (provider
suspended, course delisted), the run stops there with that reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from sqlalchemy import Select, case, func, select, update
from sqlmodel import col

from store.actor import Actor
from store.bulk import insert_rows
from store.engine import Database
from store.models import Enrollment, EnrollmentStatus, Participant, ParticipantStatus, utcnow
from store.operation import operation
from store.services import catalog
from store.services.enrollments import has_active_enrollment, lapsed_wave_ids, next_sequence, refusal
from store.services.registry import ParticipantFilter, filtered, mask_nik
from store.services.waves import hold_waves
from store.uow import UnitOfWork, read_session

BATCH = 2_000
MAX_LISTED_REFUSALS = 10_000  # beyond this only the counts per reason are kept


@dataclass(frozen=True)
class BulkFilter:
    wave_id: int | None = None
    province: str = ""
    status: str = ""
    without_active_enrollment: bool = True

    def query(self, actor: Actor) -> Select[int | None]:
        query = filtered(
            select(col(Participant.id)),
            ParticipantFilter(wave_id=self.wave_id, province=self.province, status=self.status), actor,
        )
        if self.without_active_enrollment:
            query = query.where(~has_active_enrollment())
        return query


@dataclass(frozen=True)
class BulkPreview:
    listing_id: int
    title: str
    price_idr: int
    matching: int  # participants the filter selects
    assignable: int  # of which the rules accept now
    total_idr: int  # assignable x price
    refused: dict[str, int]  # reason key -> count


@dataclass(frozen=True)
class Refusal:
    participant_id: int
    nik: str  # masked
    full_name: str
    reason: str


@dataclass(frozen=True)
class BulkResult:
    listing_id: int
    title: str
    assigned: int
    total_idr: int
    refused: dict[str, int]
    refusals: tuple[Refusal, ...] = field(default_factory=tuple)  # the first MAX_LISTED_REFUSALS
    stopped: bool = False  # the operator stopped it: the batches done so far stay done


async def preview(db: Database, actor: Actor, filters: BulkFilter, listing_id: int) -> BulkPreview:
    actor.require("enrollment.assign")
    async with read_session(db) as session:
        listing = await catalog.enrollable_listing(session, listing_id)
        lapsed = await lapsed_wave_ids(session, utcnow().date())
        reasons = filtered(
            select(refusal(listing.price_idr, lapsed).label("reason")),
            ParticipantFilter(wave_id=filters.wave_id, province=filters.province, status=filters.status), actor,
        )
        if filters.without_active_enrollment:
            reasons = reasons.where(~has_active_enrollment())
        by_reason = reasons.subquery()
        counts: dict[str | None, int] = dict(
            (await session.execute(select(by_reason.c.reason, func.count()).group_by(by_reason.c.reason))).all()
        )
    assignable = counts.pop(None, 0)
    refused = {reason: count for reason, count in counts.items() if reason is not None}
    return BulkPreview(
        listing.listing_id, listing.title, listing.price_idr, assignable + sum(refused.values()), assignable,
        assignable * listing.price_idr, dict(sorted(refused.items())),
    )


def _new_enrollment(
    listing: catalog.EnrollableListing, participant_id: int, sequence: int, actor: Actor, at: dt.datetime
) -> dict[str, Any]:
    """A whole `enrollment` row for bulk inserts (COPY needs every column)."""
    return {
        "version": 1, "participant_id": participant_id, "listing_id": listing.listing_id,
        "course_id": listing.course_id, "platform_id": listing.platform_id, "sequence": sequence,
        "price_idr": listing.price_idr, "commission_bp": listing.commission_bp,
        "status": EnrollmentStatus.ASSIGNED.value, "progress_pct": 0, "assigned_at": at,
        "assigned_by": actor.operator_id, "completed_on": None, "certificate_number": "", "review_given": False,
        "flagged_fast": False, "flag_cleared_by": None, "flag_cleared_at": None, "cancelled_at": None,
        "cancel_reason": "",
    }


@dataclass(frozen=True)
class _BatchDone:
    listing: catalog.EnrollableListing  # as it stood for this batch
    assigned: int
    refusals: list[Refusal]


@operation
async def _assign_batch(
    uow: UnitOfWork, filters: BulkFilter, listing_id: int, batch: list[int], at: dt.datetime | None
) -> _BatchDone:
    """One batch of a bulk assignment, in a unit of work of its own."""
    uow.actor.require("enrollment.assign")
    session = uow.session
    listing = await catalog.enrollable_listing(session, listing_id)
    lapsed = await lapsed_wave_ids(session, (at or utcnow()).date())
    await hold_waves(session, (
        await session.execute(select(col(Participant.wave_id)).where(col(Participant.id).in_(batch)).distinct())
    ).scalars())
    # Lock first, then judge in a statement of its own: on PostgreSQL a statement's
    # subqueries read the snapshot taken before its row locks were granted, so an active
    # course bought meanwhile by a single assignment would be missed and the insert
    # below would hit the one-active-course index.
    await session.execute(
        select(col(Participant.id))
        .where(col(Participant.id).in_(batch))
        .order_by(col(Participant.id))
        .with_for_update()
    )
    rows = (
        await session.execute(
            select(
                col(Participant.id), col(Participant.nik), col(Participant.full_name),
                refusal(listing.price_idr, lapsed),
            )
            .where(col(Participant.id).in_(batch))
            .order_by(col(Participant.id))
        )
    ).all()
    accepted = [row.id for row in rows if row[3] is None]
    declined = [Refusal(row.id, mask_nik(row.nik), row.full_name, row[3]) for row in rows if row[3] is not None]
    if accepted:
        sequences = await next_sequence(session, accepted)
        when = at or utcnow()
        await insert_rows(
            session, Enrollment.__table__,
            [_new_enrollment(listing, pid, sequences[pid], uow.actor, when) for pid in accepted],
        )
        await session.execute(
            update(Participant.__table__)
            .where(Participant.__table__.c.id.in_(accepted))
            .values(
                balance_idr=Participant.__table__.c.balance_idr - listing.price_idr,
                status=case(
                    (Participant.__table__.c.status == ParticipantStatus.SELECTED.value,
                     ParticipantStatus.IN_TRAINING.value),
                    else_=Participant.__table__.c.status,
                ),
                version=Participant.__table__.c.version + 1,
            )
        )
        uow.audit(
            "enrollment.bulk_assigned", "course_listing", listing.listing_id,
            details={"course": listing.title, "price_idr": listing.price_idr, "assigned": len(accepted),
                     "participant_ids": accepted, "filter": asdict(filters)},
        )
    return _BatchDone(listing, len(accepted), declined)


async def run(
    db: Database,
    actor: Actor,
    filters: BulkFilter,
    listing_id: int,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int = BATCH,
    at: dt.datetime | None = None,
) -> BulkResult:
    """Assign every participant the filter selects to the listing, batch by batch."""
    actor.require("enrollment.assign")
    async with read_session(db) as session:
        listing = await catalog.enrollable_listing(session, listing_id)
        query = filters.query(actor).order_by(col(Participant.id))
        # Ids read back are never None (the model's `int | None` is for records not yet written).
        ids = cast(list[int], list((await session.execute(query)).scalars()))
    refused: Counter[str] = Counter()
    refusals: list[Refusal] = []
    assigned = 0
    stopped = False
    for start in range(0, len(ids), batch_size):
        if should_stop and should_stop():
            stopped = True
            break
        done = await _assign_batch(db, actor, filters, listing_id, ids[start:start + batch_size], at)
        listing = done.listing
        refused.update(declined.reason for declined in done.refusals)
        refusals.extend(done.refusals[:MAX_LISTED_REFUSALS - len(refusals)])
        assigned += done.assigned
        if progress:
            progress(min(start + batch_size, len(ids)), len(ids))
        await asyncio.sleep(0)
    return BulkResult(
        listing.listing_id, listing.title, assigned, assigned * listing.price_idr, dict(sorted(refused.items())),
        tuple(refusals), stopped,
    )
