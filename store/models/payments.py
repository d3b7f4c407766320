"""Payout accounts, payment batches, their lines and approvals."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field

from store.models.base import Money, Record, Versioned, fk, id_field, one_of, timestamp


class AccountOwner(StrEnum):
    PARTICIPANT = "participant"  # incentives
    PROVIDER = "provider"  # kept for the record; fees are paid to the platform
    PLATFORM = "platform"  # training fees: the PMO pays the platform, which pays the provider


class AccountChannel(StrEnum):
    BANK = "bank"
    EWALLET = "ewallet"


# Shared with migration 0607 in spirit (the migration spells its own copy, frozen in time).
ONE_OWNER = (
    "(owner_kind = 'participant' AND participant_id IS NOT NULL AND provider_id IS NULL AND platform_id IS NULL)"
    " OR (owner_kind = 'provider' AND provider_id IS NOT NULL AND participant_id IS NULL AND platform_id IS NULL)"
    " OR (owner_kind = 'platform' AND platform_id IS NOT NULL AND participant_id IS NULL AND provider_id IS NULL)"
)
HOLDER_IDENTIFIED = (
    "(owner_kind = 'participant' AND length(holder_nik) = 16)"
    " OR (owner_kind IN ('provider', 'platform') AND holder_npwp <> '')"
)


class PayoutAccount(Versioned, table=True):
    __tablename__ = "payout_account"
    __table_args__ = (
        one_of("owner_kind", AccountOwner),
        one_of("channel", AccountChannel),
        CheckConstraint(ONE_OWNER, name="one_owner"),
        # Participants are paid under their NIK, providers and platforms under their tax number.
        CheckConstraint(HOLDER_IDENTIFIED, name="holder_identified"),
        # One payout account per owner: a change replaces it (lines keep the copy they took).
        UniqueConstraint("participant_id"),
        UniqueConstraint("provider_id"),
        UniqueConstraint("platform_id"),
    )

    id: int | None = id_field()
    owner_kind: str = Field(sa_type=String(20), nullable=False)
    participant_id: int | None = fk("participant.id", nullable=True)
    provider_id: int | None = fk("provider.id", nullable=True)
    platform_id: int | None = fk("platform.id", nullable=True)
    channel: str = Field(sa_type=String(20), nullable=False)
    institution: str = Field(sa_type=String(100), nullable=False)  # bank or e-wallet name
    account_number: str = Field(sa_type=String(40), nullable=False)
    holder_name: str = Field(sa_type=String(200), nullable=False)
    holder_nik: str = Field(default="", sa_type=String(16), nullable=False)
    holder_npwp: str = Field(default="", sa_type=String(16), nullable=False)
    verified: bool = Field(default=False, nullable=False)
    verified_by: int | None = fk("operator.id", nullable=True)
    verified_at: dt.datetime | None = timestamp()
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    updated_at: dt.datetime | None = timestamp()


class BatchKind(StrEnum):
    TRAINING_FEE = "training_fee"  # fees for completed enrollments, for one platform
    INCENTIVE = "incentive"  # incentive instalments, for one wave and one payer


class BatchState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    SENT = "sent"
    RECONCILED = "reconciled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PaymentBatch(Versioned, table=True):
    __tablename__ = "payment_batch"
    __table_args__ = (
        one_of("kind", BatchKind),
        one_of("state", BatchState),
        # The composite key lets approvals prove, by foreign key, who prepared the batch.
        UniqueConstraint("id", "prepared_by", name="uq_payment_batch_id_preparer"),
        CheckConstraint(
            "(kind = 'training_fee' AND platform_id IS NOT NULL)"
            " OR (kind = 'incentive' AND wave_id IS NOT NULL AND payer <> '')",
            name="scope_matches_kind",
        ),
        CheckConstraint("rejected_by IS NULL OR rejected_by <> prepared_by", name="rejecter_not_preparer"),
        CheckConstraint("approvals_needed >= 1", name="approvals_needed_positive"),
        CheckConstraint("total_idr >= 0 AND line_count >= 0", name="totals_range"),
        CheckConstraint("commission_idr >= 0 AND commission_idr <= total_idr", name="commission_range"),
        CheckConstraint(
            "paid_idr >= 0 AND failed_idr >= 0 AND paid_idr + failed_idr <= total_idr", name="results_range"
        ),
        CheckConstraint(
            "state <> 'rejected' OR (rejected_by IS NOT NULL AND reject_reason <> '')", name="rejection_reasoned"
        ),
        CheckConstraint(
            "state <> 'cancelled' OR (cancelled_by IS NOT NULL AND cancel_reason <> '')",
            name="cancellation_reasoned",
        ),
        # A rejected batch comes back at most once, as one new version.
        UniqueConstraint("previous_batch_id"),
        Index("ix_payment_batch_state", "state"),
    )

    id: int | None = id_field()
    kind: str = Field(sa_type=String(20), nullable=False)
    platform_id: int | None = fk("platform.id", nullable=True, index=True)
    wave_id: int | None = fk("wave.id", nullable=True, index=True)
    payer: str = Field(default="", sa_type=String(100), nullable=False)
    state: str = Field(default=BatchState.DRAFT, sa_type=String(20), nullable=False)
    # A rejected batch is never edited: a new version links back to it.
    batch_version: int = Field(default=1, nullable=False)
    previous_batch_id: int | None = fk("payment_batch.id", nullable=True)
    # The candidate filter the batch was prepared with (JSON), reused by its new version.
    filters: str = Field(default="{}", sa_type=Text, nullable=False)
    line_count: int = Field(default=0, nullable=False)
    total_idr: int = Field(default=0, sa_type=Money, nullable=False)
    commission_idr: int = Field(default=0, sa_type=Money, nullable=False)
    # Filled in from the payer's results: what was paid and what failed (and was released).
    paid_idr: int = Field(default=0, sa_type=Money, nullable=False)
    failed_idr: int = Field(default=0, sa_type=Money, nullable=False)
    approvals_needed: int = Field(default=1, nullable=False)
    prepared_by: int = fk("operator.id")
    prepared_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    submitted_at: dt.datetime | None = timestamp()
    rejected_by: int | None = fk("operator.id", nullable=True)
    rejected_at: dt.datetime | None = timestamp()
    reject_reason: str = Field(default="", sa_type=Text, nullable=False)
    cancelled_by: int | None = fk("operator.id", nullable=True)
    cancelled_at: dt.datetime | None = timestamp()
    cancel_reason: str = Field(default="", sa_type=Text, nullable=False)
    sent_by: int | None = fk("operator.id", nullable=True)
    sent_at: dt.datetime | None = timestamp()
    reconciled_at: dt.datetime | None = timestamp()


class LineStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"


class FailureKind(StrEnum):
    """Why a failed line failed, as far as retrying it goes (store/services/payments/failures.py)."""

    NONE = ""  # not failed
    ACCOUNT = "account"  # the account itself (closed, invalid, name mismatch ...): retried only to another account
    OTHER = "other"  # the payer's side (timeout, system down ...): the item may simply be paid again


class PaymentLine(Record, table=True):
    """One payment to one payee. The account is copied in when the line is created."""

    __tablename__ = "payment_line"
    __table_args__ = (
        one_of("status", LineStatus),
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        CheckConstraint("net_idr = amount_idr - commission_idr", name="net_is_amount_less_commission"),
        CheckConstraint("commission_idr >= 0 AND commission_idr <= amount_idr", name="commission_range"),
        CheckConstraint("instalment IS NULL OR instalment >= 1", name="instalment_positive"),
        # A failed line released its item; a paid line holds it for good.
        CheckConstraint("status <> 'failed' OR NOT live", name="failed_not_live"),
        CheckConstraint("status <> 'paid' OR live", name="paid_stays_live"),
        # Never pay twice: a payable item is on at most one live line (a line of a draft,
        # submitted, approved or sent batch, or one reconciled as paid).
        Index(
            "uq_payment_line_live_item",
            "item_key",
            unique=True,
            sqlite_where=text("live"),
            postgresql_where=text("live"),
        ),
        # The same rule on the typed columns the key spells (a trigger checks the spelling), so
        # "fee:01" next to "fee:1" cannot slip past a text comparison.
        Index(
            "uq_payment_line_live_fee", "enrollment_id", unique=True,
            sqlite_where=text("live AND instalment IS NULL"), postgresql_where=text("live AND instalment IS NULL"),
        ),
        Index(
            "uq_payment_line_live_instalment", "participant_id", "instalment", unique=True,
            sqlite_where=text("live AND instalment IS NOT NULL"),
            postgresql_where=text("live AND instalment IS NOT NULL"),
        ),
        Index("ix_payment_line_batch", "batch_id", "id"),
        Index("ix_payment_line_item_key", "item_key"),
    )

    id: int | None = id_field()
    batch_id: int = fk("payment_batch.id")
    # "fee:<enrollment id>" or "incentive:<participant id>:<instalment>".
    item_key: str = Field(sa_type=String(60), nullable=False)
    # The completed enrollment that earns the line (for an incentive: the first one).
    enrollment_id: int | None = fk("enrollment.id", nullable=True, index=True)
    participant_id: int | None = fk("participant.id", nullable=True, index=True)
    provider_id: int | None = fk("provider.id", nullable=True)
    instalment: int | None = Field(default=None)
    province_code: str = Field(default="", sa_type=String(2), nullable=False)
    amount_idr: int = Field(sa_type=Money, nullable=False)
    commission_idr: int = Field(default=0, sa_type=Money, nullable=False)
    net_idr: int = Field(sa_type=Money, nullable=False)
    payee_name: str = Field(sa_type=String(200), nullable=False)
    account_channel: str = Field(sa_type=String(20), nullable=False)
    account_institution: str = Field(sa_type=String(100), nullable=False)
    account_number: str = Field(sa_type=String(40), nullable=False)
    status: str = Field(default=LineStatus.PENDING, sa_type=String(20), nullable=False)
    live: bool = Field(default=True, nullable=False)
    payer_reference: str = Field(default="", sa_type=String(100), nullable=False)
    failure_reason: str = Field(default="", sa_type=Text, nullable=False)
    # Set with a failed result: "account" or "other" ("" while not failed). Migration 0607 keeps it
    # consistent with the status by trigger (a column added to SQLite cannot take a new CHECK).
    failure_kind: str = Field(default=FailureKind.NONE, sa_type=String(20), nullable=False)
    # When a failed line is paid again in a later batch, the new line points at the original.
    retry_of_line_id: int | None = fk("payment_line.id", nullable=True)
    reconciled_at: dt.datetime | None = timestamp()


class BatchApproval(Record, table=True):
    __tablename__ = "batch_approval"
    __table_args__ = (
        UniqueConstraint("batch_id", "approver_id"),
        # Maker-checker in the schema: the preparer, copied here and proven by the composite
        # foreign key, can never be the approver.
        ForeignKeyConstraint(
            ["batch_id", "prepared_by"],
            ["payment_batch.id", "payment_batch.prepared_by"],
            name="fk_batch_approval_batch_preparer",
        ),
        CheckConstraint("approver_id <> prepared_by", name="approver_not_preparer"),
    )

    id: int | None = id_field()
    batch_id: int = fk("payment_batch.id")
    prepared_by: int = fk("operator.id")
    approver_id: int = fk("operator.id")
    approved_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class PaymentRetryOverride(Record, table=True):
    """An explicit decision to pay again, to the same account, an item whose line failed for an
    account reason (normally it waits for a changed account). Recorded once per failed line, with
    who and why; never changed or removed (migration 0607's triggers)."""

    __tablename__ = "payment_retry_override"
    __table_args__ = (
        UniqueConstraint("line_id"),
        CheckConstraint("reason <> ''", name="reasoned"),
    )

    id: int | None = id_field()
    line_id: int = fk("payment_line.id")
    granted_by: int = fk("operator.id")
    granted_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    reason: str = Field(sa_type=Text, nullable=False)
