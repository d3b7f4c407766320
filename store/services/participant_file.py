"""A participant's file: identity, card and balance, enrollments with progress, blacklist and
exclusion-list hits, selection rejections, and the history from the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import NotFound
from store.models import (
    BlacklistEntry,
    ExclusionEntry,
    ExclusionList,
    Participant,
    SelectionRejection,
    Wave,
)
from store.services import audit_log
from store.services.audit_log import EventView
from store.services.enrollments import EnrollmentView, enrollments_of
from store.personal_data import masked
from store.services.registry import BlacklistView, blacklist_view, mask_nik, participant_in_scope
from store.uow import read_session


@dataclass(frozen=True)
class ExclusionHit:
    kind: str
    source: str
    dated: dt.date
    detail: str


@dataclass(frozen=True)
class RejectionHit:
    wave_number: int
    reason: str


@dataclass(frozen=True)
class ParticipantFile:
    id: int
    nik: str  # masked
    full_name: str
    birth_date: dt.date
    sex: str
    province_code: str
    phone: str
    email: str
    family_card: str
    status: str
    wave_number: int | None
    card_number: str | None
    balance_idr: int
    selected_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoke_reason: str
    created_at: dt.datetime
    version: int
    enrollments: tuple[EnrollmentView, ...]
    blacklist: tuple[BlacklistView, ...]
    exclusions: tuple[ExclusionHit, ...]
    rejections: tuple[RejectionHit, ...]
    history: tuple[EventView, ...]

    @property
    def active_enrollment(self) -> EnrollmentView | None:
        return next((e for e in self.enrollments if e.status in ("assigned", "in_progress")), None)


async def get_participant(db: Database, actor: Actor, participant_id: int) -> ParticipantFile:
    actor.require("participant.read")
    async with read_session(db) as session:
        await participant_in_scope(session, actor, participant_id)
        participant = await session.get(Participant, participant_id)
        if participant is None:
            raise NotFound("participant.not_found", id=participant_id)
        wave_number = None
        if participant.wave_id is not None:
            wave_number = (
                await session.execute(select(col(Wave.number)).where(col(Wave.id) == participant.wave_id))
            ).scalar_one()
        enrollments = await enrollments_of(session, participant_id)
        if actor.is_platform_staff:
            enrollments = [e for e in enrollments if e.platform_id == actor.platform_id]
        entries = (
            await session.execute(
                select(BlacklistEntry)
                .where(col(BlacklistEntry.nik) == participant.nik)
                .order_by(col(BlacklistEntry.id))
            )
        ).scalars().all()
        exclusions = (await session.execute(
            select(
                col(ExclusionList.kind), col(ExclusionList.source), col(ExclusionList.dated), col(ExclusionEntry.detail)
            )
            .join(ExclusionList, col(ExclusionList.id) == col(ExclusionEntry.list_id))
            .where(col(ExclusionEntry.nik) == participant.nik)
            .order_by(col(ExclusionList.dated))
        )).all()
        rejections = (await session.execute(
            select(col(Wave.number), col(SelectionRejection.reason))
            .join(Wave, col(Wave.id) == col(SelectionRejection.wave_id))
            .where(col(SelectionRejection.participant_id) == participant_id)
            .order_by(col(Wave.number))
        )).all()
    assert participant.created_at is not None  # set when the row was written
    blacklist = [blacklist_view(entry) for entry in entries]
    history = await audit_log.history(db, actor, "enrollment", [e.id for e in enrollments])
    if not actor.is_platform_staff:  # the participant's own events tell of other platforms' sales
        history += await audit_log.history(db, actor, "participant", [participant_id])
        history += await audit_log.history(db, actor, "blacklist_entry", [entry.id for entry in blacklist])
    return ParticipantFile(
        participant_id, mask_nik(participant.nik), participant.full_name, participant.birth_date,
        participant.sex, participant.province_code, masked("phone", participant.phone),
        masked("email", participant.email), masked("family_card", participant.family_card), participant.status, wave_number, participant.card_number,
        participant.balance_idr, participant.selected_at, participant.revoked_at, participant.revoke_reason,
        participant.created_at, participant.version, tuple(enrollments),
        tuple(blacklist),
        tuple(ExclusionHit(*row) for row in exclusions),
        tuple(RejectionHit(*row) for row in rejections),
        tuple(sorted(history, key=lambda event: event.id)),
    )
