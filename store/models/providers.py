"""Training providers (lembaga pelatihan), their documents, curation, courses and listings."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, PrimaryKeyConstraint, String, Text, UniqueConstraint
from sqlmodel import Field

from store.models.base import ID, Money, Record, Versioned, fk, id_field, one_of, timestamp
from store.models.organisations import LegalForm


class ProviderState(StrEnum):
    INVENTORIED = "inventoried"
    SUBMITTED = "submitted"
    IN_CURATION = "in_curation"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Provider(Versioned, table=True):
    __tablename__ = "provider"
    __table_args__ = (
        one_of("legal_form", LegalForm),
        one_of("state", ProviderState),
        Index("ix_provider_state", "state"),
        CheckConstraint("offers_online OR offers_offline", name="delivers_somehow"),
        # Reject and suspend are reasoned decisions (a reinstatement keeps its reason too).
        CheckConstraint(
            "state NOT IN ('rejected', 'suspended') OR state_reason <> ''", name="decision_has_reason"
        ),
    )

    id: int | None = id_field()
    name: str = Field(sa_type=String(200), nullable=False)
    # Case- and accent-folded name for prefix search (see store/text.py).
    name_key: str = Field(default="", sa_type=String(200), nullable=False, index=True)
    legal_form: str = Field(default=LegalForm.PT, sa_type=String(20), nullable=False)
    # One record per legal entity: a second platform proposing it is added to provider_platform.
    nib: str = Field(sa_type=String(13), nullable=False, unique=True)
    npwp: str = Field(default="", sa_type=String(16), nullable=False)
    province_code: str = Field(default="", sa_type=String(2), nullable=False)
    address: str = Field(default="", sa_type=Text, nullable=False)
    offers_online: bool = Field(default=True, nullable=False)
    offers_offline: bool = Field(default=False, nullable=False)
    ownership_group_id: int | None = fk("ownership_group.id", nullable=True, index=True)
    founded_on: dt.date | None = Field(default=None)
    contact_name: str = Field(default="", sa_type=String(200), nullable=False)
    contact_email: str = Field(default="", sa_type=String(200), nullable=False)
    contact_phone: str = Field(default="", sa_type=String(40), nullable=False)
    state: str = Field(default=ProviderState.INVENTORIED, sa_type=String(20), nullable=False)
    state_reason: str = Field(default="", sa_type=Text, nullable=False)
    created_by: int | None = fk("operator.id", nullable=True)
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class ProviderPlatform(Record, table=True):
    """The platform(s) that proposed a provider to the office."""

    __tablename__ = "provider_platform"
    __table_args__ = (PrimaryKeyConstraint("provider_id", "platform_id"),)

    provider_id: int = Field(
        sa_column=Column(ID, ForeignKey("provider.id", ondelete="CASCADE"), nullable=False)
    )
    platform_id: int = Field(
        sa_column=Column(ID, ForeignKey("platform.id"), nullable=False, index=True)
    )


class DocumentKind(StrEnum):
    DEED = "deed"  # company deed; the entity must be at least one year old
    NIB = "nib"  # business identification number
    NPWP = "npwp"  # tax number
    TAX_STATUS = "tax_status"  # valid tax status (KSWP)
    COOPERATION_AGREEMENT = "cooperation_agreement"  # with the proposing platform
    COURSE_CONFORMITY = "course_conformity"  # statement of course conformity


class DocumentStatus(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    INVALID = "invalid"


class ProviderDocument(Versioned, table=True):
    __tablename__ = "provider_document"
    __table_args__ = (
        UniqueConstraint("provider_id", "kind"),
        one_of("kind", DocumentKind),
        one_of("status", DocumentStatus),
        # An invalid document says what is wrong with it.
        CheckConstraint("status <> 'invalid' OR note <> ''", name="invalid_has_note"),
    )

    id: int | None = id_field()
    provider_id: int = fk("provider.id", ondelete="CASCADE")
    kind: str = Field(sa_type=String(40), nullable=False)
    status: str = Field(default=DocumentStatus.MISSING, sa_type=String(20), nullable=False)
    reference: str = Field(default="", sa_type=String(200), nullable=False)
    note: str = Field(default="", sa_type=Text, nullable=False)


class CurationStage(StrEnum):
    """In order; the facilities check applies only to providers that deliver offline."""

    DUE_DILIGENCE = "due_diligence"
    GOVERNANCE = "governance"
    COURSE_ASSESSMENT = "course_assessment"
    FACILITIES = "facilities"


class AssessmentScheme(Record, table=True):
    """A version of the indicators, weights and pass thresholds (immutable once written).

    `stages` is JSON: {stage: {"threshold_centi": n, "indicators": [{"code", "label": {"en", "id"},
    "weight"}]}}; scores are 0-4 and thresholds are in hundredths of a point (250 = 2.50).
    An admin change writes a new version; each assessment keeps the version it used.
    """

    __tablename__ = "assessment_scheme"

    id: int | None = id_field()
    version: int = Field(unique=True, nullable=False)
    stages: str = Field(sa_type=Text, nullable=False)
    created_by: int | None = fk("operator.id", nullable=True)
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class Assessment(Versioned, table=True):
    """One curator's assessment of one stage for one provider."""

    __tablename__ = "assessment"
    __table_args__ = (
        UniqueConstraint("provider_id", "stage"),
        one_of("stage", CurationStage),
    )

    id: int | None = id_field()
    provider_id: int = fk("provider.id", ondelete="CASCADE")
    stage: str = Field(sa_type=String(30), nullable=False)
    scheme_id: int = fk("assessment_scheme.id")
    curator_id: int = fk("operator.id")
    # Weighted score in hundredths of a point (0..400), computed from the indicator scores.
    score_centi: int | None = Field(default=None)
    passed: bool | None = Field(default=None)
    completed_at: dt.datetime | None = timestamp()


class AssessmentScore(Record, table=True):
    __tablename__ = "assessment_score"
    __table_args__ = (
        PrimaryKeyConstraint("assessment_id", "indicator"),
        CheckConstraint("score BETWEEN 0 AND 4", name="score_range"),
    )

    assessment_id: int = Field(
        sa_column=Column(ID, ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False)
    )
    indicator: str = Field(sa_type=String(40), nullable=False)
    score: int = Field(nullable=False)


class CourseMode(StrEnum):
    WEBINAR = "webinar"
    SELF_PACED = "self_paced"
    OFFLINE = "offline"


ONLINE_MODES = frozenset({CourseMode.WEBINAR, CourseMode.SELF_PACED})


class CourseState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Course(Versioned, table=True):
    __tablename__ = "course"
    __table_args__ = (
        one_of("mode", CourseMode),
        one_of("state", CourseState),
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint("price_idr > 0", name="price_positive"),
        CheckConstraint(
            "outside_price_idr IS NULL OR outside_price_idr >= 0", name="outside_price_range"
        ),
        CheckConstraint(
            "state NOT IN ('rejected', 'withdrawn') OR state_reason <> ''", name="decision_has_reason"
        ),
        # The price-outlier report compares courses of the same category and mode.
        Index("ix_course_category_mode", "category", "mode"),
    )

    id: int | None = id_field()
    provider_id: int = fk("provider.id", index=True)
    title: str = Field(sa_type=String(300), nullable=False)
    title_key: str = Field(default="", sa_type=String(300), nullable=False, index=True)
    category: str = Field(default="", sa_type=String(100), nullable=False)
    mode: str = Field(sa_type=String(20), nullable=False)
    hours: int = Field(nullable=False)
    price_idr: int = Field(sa_type=Money, nullable=False)
    # The same course's price outside the program; None when unknown or not sold elsewhere.
    outside_price_idr: int | None = Field(default=None, sa_type=Money)
    free_elsewhere: bool = Field(default=False, nullable=False)
    interactive: bool = Field(default=True, nullable=False)
    state: str = Field(default=CourseState.DRAFT, sa_type=String(20), nullable=False)
    state_reason: str = Field(default="", sa_type=Text, nullable=False)
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class ListingStatus(StrEnum):
    LISTED = "listed"
    DELISTED = "delisted"


class CourseListing(Versioned, table=True):
    """A course offered on a platform, with the platform's commission."""

    __tablename__ = "course_listing"
    __table_args__ = (
        UniqueConstraint("course_id", "platform_id"),
        one_of("status", ListingStatus),
        CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="commission_range"),
        CheckConstraint("status <> 'delisted' OR status_reason <> ''", name="delisting_has_reason"),
    )

    id: int | None = id_field()
    course_id: int = fk("course.id")
    platform_id: int = fk("platform.id", index=True)
    commission_bp: int = Field(nullable=False)
    status: str = Field(default=ListingStatus.LISTED, sa_type=String(20), nullable=False)
    status_reason: str = Field(default="", sa_type=Text, nullable=False)
    listed_by: int | None = fk("operator.id", nullable=True)
    listed_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
