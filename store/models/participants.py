"""Waves, the participant registry (keyed by NIK), blacklist, exclusion lists, enrollments."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field

from store.models.base import ID, Money, Record, Versioned, fk, id_field, one_of, timestamp


class WaveState(StrEnum):
    PLANNED = "planned"
    OPEN = "open"  # registration window open
    # Selection under way, written in parts (store/services/selection.py); one wave at a time.
    SELECTING = "selecting"
    IN_PROGRESS = "in_progress"  # selection done: the scheme can no longer change
    CLOSED = "closed"


class Wave(Versioned, table=True):
    """A wave (gelombang): scheme amounts, quota, windows and budget."""

    __tablename__ = "wave"
    __table_args__ = (
        one_of("state", WaveState),
        # One wave selecting at a time, program-wide: two would draw from the same pool.
        Index(
            "uq_wave_selecting", "state", unique=True,
            sqlite_where=text("state = 'selecting'"), postgresql_where=text("state = 'selecting'"),
        ),
        # A selection cut short is finished with the seed it began with.
        CheckConstraint("state <> 'selecting' OR selection_seed IS NOT NULL", name="selecting_has_seed"),
        CheckConstraint("number BETWEEN 1 AND 99999", name="number_range"),  # five digits of every card
        CheckConstraint("training_balance_idr > 0", name="balance_positive"),
        CheckConstraint("incentive_idr >= 0 AND incentive_count >= 0", name="incentive_range"),
        CheckConstraint("survey_idr >= 0 AND survey_count >= 0", name="survey_range"),
        CheckConstraint("quota >= 0", name="quota_range"),
        CheckConstraint("budget_idr >= 0", name="budget_range"),
        CheckConstraint("purchase_deadline_days > 0", name="deadline_positive"),
        CheckConstraint("registration_closes >= registration_opens", name="window_order"),
    )

    id: int | None = id_field()
    number: int = Field(unique=True, nullable=False)
    year: int = Field(nullable=False)
    training_balance_idr: int = Field(sa_type=Money, nullable=False)
    incentive_idr: int = Field(sa_type=Money, nullable=False)
    incentive_count: int = Field(nullable=False)
    survey_idr: int = Field(sa_type=Money, nullable=False)
    survey_count: int = Field(nullable=False)
    quota: int = Field(nullable=False)
    registration_opens: dt.date = Field(nullable=False)
    registration_closes: dt.date = Field(nullable=False)
    # Selection day: age is measured on it, the purchase deadline counts from it.
    starts_on: dt.date = Field(nullable=False)
    purchase_deadline_days: int = Field(nullable=False)
    budget_idr: int = Field(sa_type=Money, nullable=False)
    state: str = Field(default=WaveState.PLANNED, sa_type=String(20), nullable=False)
    selection_seed: int | None = Field(default=None, sa_type=ID)
    selected_at: dt.datetime | None = timestamp()
    selected_by: int | None = fk("operator.id", nullable=True)
    swept_at: dt.datetime | None = timestamp()
    # How many registered participants the selection considered (the funnel's first figure).
    registered_count: int | None = Field(default=None)


class WaveProvinceQuota(Record, table=True):
    __tablename__ = "wave_province_quota"
    __table_args__ = (
        PrimaryKeyConstraint("wave_id", "province_code"),
        CheckConstraint("quota >= 0", name="quota_range"),
    )

    wave_id: int = Field(
        sa_column=Column(ID, ForeignKey("wave.id", ondelete="CASCADE"), nullable=False)
    )
    province_code: str = Field(sa_type=String(2), nullable=False)
    quota: int = Field(nullable=False)


class ParticipantStatus(StrEnum):
    REGISTERED = "registered"
    SELECTED = "selected"  # holds a card and a balance; no purchase yet
    IN_TRAINING = "in_training"  # bought at least one course
    COMPLETED = "completed"  # completed at least one course
    REVOKED = "revoked"  # card revoked (no purchase in time, or a later finding)


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class Participant(Versioned, table=True):
    __tablename__ = "participant"
    __table_args__ = (
        one_of("status", ParticipantStatus),
        one_of("sex", Sex),
        CheckConstraint("length(nik) = 16", name="nik_length"),
        CheckConstraint("balance_idr >= 0", name="balance_not_negative"),
        # One card per NIK, ever: a card exists exactly when the participant left `registered`
        # (selected into a wave); a revoked card stays on record and is never handed out again.
        CheckConstraint(
            "(status = 'registered' AND card_number IS NULL AND wave_id IS NULL AND balance_idr = 0)"
            " OR (status <> 'registered' AND card_number IS NOT NULL AND wave_id IS NOT NULL)",
            name="card_only_when_selected",
        ),
        # Keyset pages in the registry: by name (name_key, id) when searching by name, else by
        # (status, id) with the wave or province as an equality prefix (see services/registry.py).
        Index("ix_participant_name_key_id", "name_key", "id"),
        Index("ix_participant_wave_status_id", "wave_id", "status", "id"),
        Index("ix_participant_province_status_id", "province_code", "status", "id"),
        Index("ix_participant_status_id", "status", "id"),
    )

    id: int | None = id_field()
    # One card per NIK, ever: the NIK is unique for life, and so is a card number.
    nik: str = Field(sa_type=String(16), unique=True, nullable=False)
    full_name: str = Field(sa_type=String(200), nullable=False)
    name_key: str = Field(default="", sa_type=String(200), nullable=False)
    birth_date: dt.date = Field(nullable=False)
    sex: str = Field(sa_type=String(1), nullable=False)
    province_code: str = Field(sa_type=String(2), nullable=False)
    phone: str = Field(default="", sa_type=String(40), nullable=False)
    email: str = Field(default="", sa_type=String(200), nullable=False)
    family_card: str = Field(default="", sa_type=String(16), nullable=False)
    status: str = Field(default=ParticipantStatus.REGISTERED, sa_type=String(20), nullable=False)
    wave_id: int | None = fk("wave.id", nullable=True)
    card_number: str | None = Field(default=None, sa_type=String(20), unique=True)
    balance_idr: int = Field(default=0, sa_type=Money, nullable=False)
    selected_at: dt.datetime | None = timestamp()
    revoked_at: dt.datetime | None = timestamp()
    revoke_reason: str = Field(default="", sa_type=String(40), nullable=False)
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class BlacklistEntry(Versioned, table=True):
    """A NIK that may not be selected; lifted only by a recorded admin decision."""

    __tablename__ = "blacklist_entry"
    __table_args__ = (
        # At most one standing (unlifted) entry per NIK.
        Index(
            "uq_blacklist_entry_standing_nik",
            "nik",
            unique=True,
            sqlite_where=text("lifted_at IS NULL"),
            postgresql_where=text("lifted_at IS NULL"),
        ),
        CheckConstraint(
            "lifted_at IS NULL OR (lifted_by IS NOT NULL AND lift_reason <> '')",
            name="lift_is_reasoned",
        ),
    )

    id: int | None = id_field()
    nik: str = Field(sa_type=String(16), nullable=False, index=True)
    reason: str = Field(sa_type=Text, nullable=False)
    source: str = Field(default="", sa_type=String(200), nullable=False)
    listed_on: dt.date = Field(nullable=False)
    listed_by: int | None = fk("operator.id", nullable=True)
    lifted_at: dt.datetime | None = timestamp()
    lifted_by: int | None = fk("operator.id", nullable=True)
    lift_reason: str = Field(default="", sa_type=Text, nullable=False)
    lift_decision_ref: str = Field(default="", sa_type=String(200), nullable=False)


class ExclusionKind(StrEnum):
    FORMAL_EDUCATION = "formal_education"
    EXCLUDED_OCCUPATION = "excluded_occupation"  # civil servant, military, police, ...
    WAGE_ABOVE_CEILING = "wage_above_ceiling"


class ExclusionList(Record, table=True):
    """One imported exclusion file: its kind, where it came from and its date."""

    __tablename__ = "exclusion_list"
    __table_args__ = (one_of("kind", ExclusionKind),)

    id: int | None = id_field()
    kind: str = Field(sa_type=String(30), nullable=False)
    source: str = Field(sa_type=String(200), nullable=False)
    dated: dt.date = Field(nullable=False)
    entry_count: int = Field(default=0, nullable=False)
    imported_by: int | None = fk("operator.id", nullable=True)
    imported_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class ExclusionEntry(Record, table=True):
    __tablename__ = "exclusion_entry"
    __table_args__ = (UniqueConstraint("list_id", "nik"),)

    id: int | None = id_field()
    list_id: int = fk("exclusion_list.id", ondelete="CASCADE", index=True)
    nik: str = Field(sa_type=String(16), nullable=False, index=True)
    detail: str = Field(default="", sa_type=String(200), nullable=False)


class ParticipantTally(Record, table=True):
    """How many participants are in each (wave, status): kept by database triggers on
    `participant` in the same transaction as every change (migration 0610), so the wave funnels
    and the registry's counts never scan millions of rows. wave_key 0: in no wave."""

    __tablename__ = "participant_tally"

    wave_key: int = Field(sa_type=BigInteger, primary_key=True)
    status: str = Field(sa_type=String(20), primary_key=True)
    n: int = Field(sa_type=BigInteger, nullable=False)


class SelectionRejection(Record, table=True):
    """Why a registered participant was not selected into a wave (listable per wave)."""

    __tablename__ = "selection_rejection"
    __table_args__ = (
        UniqueConstraint("wave_id", "participant_id"),
        Index("ix_selection_rejection_wave_reason", "wave_id", "reason"),
    )

    id: int | None = id_field()
    wave_id: int = fk("wave.id", ondelete="CASCADE")
    participant_id: int = fk("participant.id", index=True)
    reason: str = Field(sa_type=String(40), nullable=False)


class EnrollmentStatus(StrEnum):
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


ACTIVE_ENROLLMENT = (EnrollmentStatus.ASSIGNED, EnrollmentStatus.IN_PROGRESS)


class Enrollment(Versioned, table=True):
    """A participant's purchase of a listed course on a platform, and its progress."""

    __tablename__ = "enrollment"
    __table_args__ = (
        one_of("status", EnrollmentStatus),
        CheckConstraint("progress_pct BETWEEN 0 AND 100", name="progress_range"),
        CheckConstraint("price_idr > 0", name="price_positive"),
        CheckConstraint(
            "status <> 'completed' OR (certificate_number <> '' AND completed_on IS NOT NULL)",
            name="completion_has_evidence",
        ),
        CheckConstraint("status <> 'cancelled' OR cancel_reason <> ''", name="cancellation_is_reasoned"),
        # Courses are taken one after another: at most one active enrollment per participant.
        Index(
            "uq_enrollment_one_active",
            "participant_id",
            unique=True,
            sqlite_where=text("status IN ('assigned', 'in_progress')"),
            postgresql_where=text("status IN ('assigned', 'in_progress')"),
        ),
        Index("ix_enrollment_participant", "participant_id", "sequence"),
        Index("ix_enrollment_platform_status", "platform_id", "status"),
    )

    id: int | None = id_field()
    participant_id: int = fk("participant.id")
    listing_id: int = fk("course_listing.id")
    course_id: int = fk("course.id", index=True)
    platform_id: int = fk("platform.id")
    # The participant's nth enrollment (1 = first): only the first earns the incentive.
    sequence: int = Field(nullable=False)
    # Price and commission are copied at purchase: later price changes do not touch them.
    price_idr: int = Field(sa_type=Money, nullable=False)
    commission_bp: int = Field(nullable=False)
    status: str = Field(default=EnrollmentStatus.ASSIGNED, sa_type=String(20), nullable=False)
    progress_pct: int = Field(default=0, nullable=False)
    assigned_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    assigned_by: int | None = fk("operator.id", nullable=True)
    completed_on: dt.date | None = Field(default=None)
    certificate_number: str = Field(default="", sa_type=String(100), nullable=False)
    review_given: bool = Field(default=False, nullable=False)
    # A completion faster than the course's hours is accepted but held for review.
    flagged_fast: bool = Field(default=False, nullable=False)
    flag_cleared_by: int | None = fk("operator.id", nullable=True)
    flag_cleared_at: dt.datetime | None = timestamp()
    cancelled_at: dt.datetime | None = timestamp()
    cancel_reason: str = Field(default="", sa_type=Text, nullable=False)
