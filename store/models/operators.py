"""Operators (people who log in), their roles, and office-wide settings."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, PrimaryKeyConstraint, String, Text
from sqlmodel import Field

from store.models.base import ID, Record, UTCDateTime, Versioned, fk, id_field, one_of, timestamp


class Role(StrEnum):
    ADMIN = "admin"  # operators, waves, thresholds
    REVIEWER = "reviewer"  # checks platform applications and recommends
    CURATOR = "curator"  # assesses providers and courses
    COORDINATOR = "coordinator"  # waves, participants, enrollments
    FINANCE = "finance"  # prepares payment batches, records payment results
    APPROVER = "approver"  # decides recommended applications and submitted batches
    AUDITOR = "auditor"  # reads everything, changes nothing
    PLATFORM = "platform"  # staff of one platform, scoped to it


class Operator(Versioned, table=True):
    __tablename__ = "operator"

    id: int | None = id_field()
    username: str = Field(sa_type=String(64), unique=True, nullable=False)
    full_name: str = Field(default="", sa_type=String(200), nullable=False)
    password_hash: str = Field(sa_type=String(300), nullable=False)
    # Platform staff are scoped to exactly one platform; office staff have none.
    platform_id: int | None = fk("platform.id", nullable=True, index=True)
    # A declared affiliation with a corporate group: a curator may not assess providers of it.
    ownership_group_id: int | None = fk("ownership_group.id", nullable=True)
    is_active: bool = Field(default=True, nullable=False)
    failed_logins: int = Field(default=0, nullable=False)
    last_login_at: dt.datetime | None = timestamp()
    # Set when consecutive failures reach the lockout limit; logins are refused until then.
    locked_until: dt.datetime | None = timestamp()
    created_at: dt.datetime | None = timestamp(default_now=True, nullable=False)


class OperatorRole(Record, table=True):
    __tablename__ = "operator_role"
    __table_args__ = (
        PrimaryKeyConstraint("operator_id", "role"),
        one_of("role", Role),
    )

    operator_id: int = Field(
        sa_column=Column(ID, ForeignKey("operator.id", ondelete="CASCADE"), nullable=False)
    )
    role: str = Field(sa_type=String(20), nullable=False)


class Setting(Versioned, table=True):
    """An office-wide setting an admin can change (approval thresholds, caps ...), as JSON."""

    __tablename__ = "setting"

    key: str = Field(sa_type=String(100), primary_key=True)
    value: str = Field(sa_type=Text, nullable=False)
    updated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_by: int | None = fk("operator.id", nullable=True)


class OperatorSession(Record, table=True):
    """A console logged in somewhere: who, from where, since when, last seen acting; ended by
    logging out or by an admin. The console's Actor carries the session's token; every unit of work
    refuses a session that has been ended (store/session_check.py)."""

    __tablename__ = "operator_session"
    __table_args__ = (
        CheckConstraint("origin IN ('terminal', 'ssh', 'web')", name="origin_valid"),
        CheckConstraint("ended_at IS NULL OR end_reason <> ''", name="ended_with_reason"),
        Index("ix_operator_session_open", "ended_at", "last_action_at"),
    )

    id: int | None = id_field()
    token: str = Field(sa_type=String(64), unique=True, nullable=False)
    operator_id: int = fk("operator.id", index=True)
    origin: str = Field(sa_type=String(20), nullable=False)
    peer: str = Field(default="", sa_type=String(200), nullable=False)
    # The SSH key that logged this session in (SHA256 fingerprint); empty for a password login.
    key_fingerprint: str = Field(default="", sa_type=String(60), nullable=False)
    started_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    last_action_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    ended_at: dt.datetime | None = timestamp()
    ended_by: int | None = fk("operator.id", nullable=True)
    end_reason: str = Field(default="", sa_type=String(300), nullable=False)


class OperatorKey(Record, table=True):
    """An SSH public key that logs its operator into `mitra serve ssh` (no second password). A key
    belongs to one operator only: its fingerprint (SHA256, as OpenSSH prints it) is unique."""

    __tablename__ = "operator_key"

    id: int | None = id_field()
    operator_id: int = fk("operator.id", index=True)
    algorithm: str = Field(sa_type=String(40), nullable=False)
    public_key: str = Field(sa_type=Text, nullable=False)  # "algorithm base64", without the comment
    fingerprint: str = Field(sa_type=String(60), unique=True, nullable=False)
    comment: str = Field(default="", sa_type=String(200), nullable=False)
    added_at: dt.datetime | None = timestamp(default_now=True, nullable=False)
    added_by: int | None = fk("operator.id", nullable=True)
