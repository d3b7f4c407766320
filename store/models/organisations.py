"""Ownership groups, platform applications, platforms and their obligations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import IntEnum, StrEnum

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field

from store.models.base import Money, Versioned, fk, id_field, one_of, timestamp


class OwnershipGroup(Versioned, table=True):
    """A corporate group: platforms and providers in the same group are affiliated."""

    __tablename__ = "ownership_group"

    id: int | None = id_field()
    code: str = Field(sa_type=String(40), unique=True, nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)


class LegalForm(StrEnum):
    PT = "pt"  # perseroan terbatas (private limited company)
    OTHER_PRIVATE = "other_private"  # CV, firma, koperasi, yayasan ...
    BUMN = "bumn"  # state-owned enterprise
    BUMD = "bumd"  # regionally-owned enterprise
    GOVERNMENT = "government"


class ApplicationState(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    RECOMMENDED = "recommended"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECLASSIFIED = "reclassified"


DECIDED_STATES = frozenset(
    {ApplicationState.APPROVED, ApplicationState.REJECTED, ApplicationState.RECLASSIFIED}
)
# Not yet decided: a company has at most one of these at a time.
OPEN_STATES = frozenset(ApplicationState) - DECIDED_STATES


def _sql_list(states: Iterable[str]) -> str:
    return ", ".join(f"'{state}'" for state in sorted(states))


class Recommendation(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RECLASSIFY = "reclassify"


class RejectReason(StrEnum):
    """Why an application was rejected (the decision note says the rest)."""

    CRITERIA_NOT_MET = "criteria_not_met"
    INCOMPLETE_DOCUMENTS = "incomplete_documents"
    NO_RESPONSE = "no_response"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    FALSE_INFORMATION = "false_information"
    OTHER = "other"


class Criterion(IntEnum):
    LEGAL_FORM = 1
    NATIONAL_COVERAGE = 2
    IT_SYSTEM = 3
    ONLINE_PORTAL = 4
    PROVIDER_COOPERATION = 5
    LICENCE_AND_DEED = 6
    MARKETPLACE = 7


class Verdict(StrEnum):
    UNCHECKED = "unchecked"
    PASS = "pass"
    FAIL = "fail"
    NEEDS_INFO = "needs_info"


class PlatformApplication(Versioned, table=True):
    __tablename__ = "platform_application"
    __table_args__ = (
        one_of("legal_form", LegalForm),
        one_of("state", ApplicationState),
        one_of("recommendation", Recommendation, nullable=True),
        one_of("reject_reason_code", RejectReason, nullable=True),
        # Maker-checker: the approver is never the reviewer who recommended.
        CheckConstraint(
            "decided_by IS NULL OR recommended_by IS NULL OR decided_by <> recommended_by",
            name="decider_not_recommender",
        ),
        # A recommended or decided application says who recommended what; a decided one says who
        # decided, when and why; each outcome carries what it produced.
        CheckConstraint(
            f"state NOT IN ({_sql_list(DECIDED_STATES | {ApplicationState.RECOMMENDED})}) "
            "OR (recommendation IS NOT NULL AND recommended_by IS NOT NULL)",
            name="recommendation_recorded",
        ),
        CheckConstraint(
            f"state NOT IN ({_sql_list(DECIDED_STATES)}) "
            "OR (decided_by IS NOT NULL AND decided_at IS NOT NULL AND decision_note <> '')",
            name="decision_recorded",
        ),
        CheckConstraint("state <> 'approved' OR platform_id IS NOT NULL", name="approved_has_platform"),
        CheckConstraint("state <> 'reclassified' OR provider_id IS NOT NULL", name="reclassified_has_provider"),
        CheckConstraint("state <> 'rejected' OR reject_reason_code IS NOT NULL", name="rejected_has_reason"),
        # One platform or provider per application, one re-application per rejected application.
        UniqueConstraint("platform_id"),
        UniqueConstraint("provider_id"),
        UniqueConstraint("previous_application_id"),
        # A company (by NIB) has at most one application under way.
        Index(
            "ix_platform_application_open_nib", "nib", unique=True,
            sqlite_where=text(f"state IN ({_sql_list(OPEN_STATES)})"),
            postgresql_where=text(f"state IN ({_sql_list(OPEN_STATES)})"),
        ),
        Index("ix_platform_application_state", "state"),
    )

    id: int | None = id_field()
    legal_name: str = Field(sa_type=String(200), nullable=False)
    brand_name: str = Field(sa_type=String(200), nullable=False)
    name_key: str = Field(default="", sa_type=String(200), nullable=False, index=True)
    legal_form: str = Field(sa_type=String(20), nullable=False)
    nib: str = Field(sa_type=String(13), nullable=False)
    npwp: str = Field(sa_type=String(16), nullable=False)
    portal_url: str = Field(default="", sa_type=String(300), nullable=False)
    # Province codes where the applicant has users, space-separated and sorted ("11 12 31").
    province_codes: str = Field(default="", sa_type=Text, nullable=False)
    payment_integration: str = Field(default="", sa_type=Text, nullable=False)
    own_group_providers: int = Field(default=0, nullable=False)
    third_party_providers: int = Field(default=0, nullable=False)
    licence_ref: str = Field(default="", sa_type=String(100), nullable=False)
    deed_ref: str = Field(default="", sa_type=String(100), nullable=False)
    ownership_group_id: int | None = fk("ownership_group.id", nullable=True)
    contact_name: str = Field(default="", sa_type=String(200), nullable=False)
    contact_email: str = Field(default="", sa_type=String(200), nullable=False)
    contact_phone: str = Field(default="", sa_type=String(40), nullable=False)
    submitted_on: dt.date = Field(nullable=False)
    state: str = Field(default=ApplicationState.SUBMITTED, sa_type=String(20), nullable=False)
    # A company rejected before may apply again: the new application links to the old one.
    previous_application_id: int | None = fk("platform_application.id", nullable=True)
    recommendation: str | None = Field(default=None, sa_type=String(20))
    recommendation_note: str = Field(default="", sa_type=Text, nullable=False)
    recommended_by: int | None = fk("operator.id", nullable=True)
    recommended_at: dt.datetime | None = timestamp()
    decided_by: int | None = fk("operator.id", nullable=True)
    decided_at: dt.datetime | None = timestamp()
    decision_note: str = Field(default="", sa_type=Text, nullable=False)
    reject_reason_code: str | None = Field(default=None, sa_type=String(40))
    platform_id: int | None = fk("platform.id", nullable=True)
    provider_id: int | None = fk("provider.id", nullable=True)
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    # Set by every change, criteria included, so that each change bumps `version`: a
    # recommendation made on criteria someone changed meanwhile fails as "changed by someone else".
    updated_at: dt.datetime | None = timestamp()


class ApplicationCriterion(Versioned, table=True):
    __tablename__ = "application_criterion"
    __table_args__ = (
        UniqueConstraint("application_id", "number"),
        CheckConstraint("number BETWEEN 1 AND 7", name="number_valid"),
        one_of("verdict", Verdict),
        one_of("suggested", Verdict, nullable=True),
    )

    id: int | None = id_field()
    application_id: int = fk("platform_application.id", ondelete="CASCADE")
    number: int = Field(nullable=False)
    # Computed from the application's data for criteria 1, 2, 5 and 7; None for the others.
    suggested: str | None = Field(default=None, sa_type=String(20))
    verdict: str = Field(default=Verdict.UNCHECKED, sa_type=String(20), nullable=False)
    note: str = Field(default="", sa_type=Text, nullable=False)
    set_by: int | None = fk("operator.id", nullable=True)
    set_at: dt.datetime | None = timestamp()


class PlatformStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


DEFAULT_COMMISSION_CAP_BP = 1500  # 15 %, in basis points


class Platform(Versioned, table=True):
    """A digital platform partner (mitra platform digital)."""

    __tablename__ = "platform"
    __table_args__ = (
        one_of("status", PlatformStatus),
        CheckConstraint("commission_cap_bp BETWEEN 0 AND 10000", name="commission_cap_range"),
    )

    id: int | None = id_field()
    code: str = Field(sa_type=String(40), unique=True, nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    legal_name: str = Field(default="", sa_type=String(200), nullable=False)
    portal_url: str = Field(default="", sa_type=String(300), nullable=False)
    ownership_group_id: int | None = fk("ownership_group.id", nullable=True)
    # The application that created it is found by platform_application.platform_id.
    agreement_number: str = Field(sa_type=String(100), unique=True, nullable=False)
    agreement_date: dt.date = Field(nullable=False)
    commission_cap_bp: int = Field(default=DEFAULT_COMMISSION_CAP_BP, nullable=False)
    status: str = Field(default=PlatformStatus.ACTIVE, sa_type=String(20), nullable=False)
    status_reason: str = Field(default="", sa_type=Text, nullable=False)
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class ObligationKind(StrEnum):
    """The ten duties of a platform partner, from the source article."""

    INVENTORY_PROVIDERS = "inventory_providers"
    CURATE_PROVIDERS = "curate_providers"
    FACILITATE_REGISTRATION = "facilitate_registration"
    INFORMATION_SYSTEM = "information_system"
    DELIVER_PARTICIPANT_LISTS = "deliver_participant_lists"
    REPORT_PROGRESS = "report_progress"
    MONITOR_EVALUATE = "monitor_evaluate"
    REPORT_BUDGET = "report_budget"
    DISBURSE_FEES = "disburse_fees"
    PUBLISH_PROVIDER_INFO = "publish_provider_info"


class ObligationItem(Versioned, table=True):
    """One period's instance of one obligation of one platform, and its submission record.

    Periods are whole months (one by default, see store/services/obligations.py); the report is
    due some days after the period ends. Overdue: not submitted and the due date has passed.
    """

    __tablename__ = "obligation_item"
    __table_args__ = (
        UniqueConstraint("platform_id", "kind", "period_start"),
        one_of("kind", ObligationKind),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("due_on >= period_end", name="due_after_period"),
        # A submission says when, what (a reference) and who recorded it, or nothing at all.
        CheckConstraint(
            "(submitted_on IS NULL AND submitted_by IS NULL) OR "
            "(submitted_on IS NOT NULL AND submitted_by IS NOT NULL AND reference <> '')",
            name="submission_complete",
        ),
        CheckConstraint("submitted_on IS NULL OR submitted_on >= period_start", name="submitted_after_start"),
        # Only the fee disbursement report states an amount: what the platform says it passed on to
        # providers in the period (checked against the nets owed, store/services/obligations.py).
        CheckConstraint(
            "reported_idr IS NULL OR (kind = 'disburse_fees' AND submitted_on IS NOT NULL AND reported_idr >= 0)",
            name="reported_amount",
        ),
        Index("ix_obligation_item_due", "submitted_on", "due_on"),
    )

    id: int | None = id_field()
    platform_id: int = fk("platform.id", index=True)
    kind: str = Field(sa_type=String(40), nullable=False)
    period_start: dt.date = Field(nullable=False)
    period_end: dt.date = Field(nullable=False)
    due_on: dt.date = Field(nullable=False)
    submitted_on: dt.date | None = Field(default=None)
    reference: str = Field(default="", sa_type=String(200), nullable=False)
    submitted_by: int | None = fk("operator.id", nullable=True)
    reported_idr: int | None = Field(default=None, sa_type=Money, nullable=True)
