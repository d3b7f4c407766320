"""The audit log: append-only, hash-chained (see store/audit.py for the chain)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text
from sqlmodel import Field

from store.models.base import Record, UTCDateTime, fk


class AuditEvent(Record, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity", "entity_id"),
        Index("ix_audit_event_operator_name", "operator_name"),
        Index("ix_audit_event_action", "action"),
    )

    # Assigned by the appender as previous id + 1 (appends are serialised): the id is part of
    # the hashed content, and a gap in the sequence shows a removed event.
    id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    operator_id: int | None = fk("operator.id", nullable=True)
    operator_name: str = Field(sa_type=String(64), nullable=False)
    action: str = Field(sa_type=String(80), nullable=False)
    entity: str = Field(sa_type=String(40), nullable=False)
    entity_id: str = Field(default="", sa_type=String(80), nullable=False)
    # Canonical JSON: {"before": {...}, "after": {...}} of the changed fields, or details.
    changes: str = Field(default="{}", sa_type=Text, nullable=False)
    reason: str = Field(default="", sa_type=Text, nullable=False)
    prev_hash: str = Field(sa_type=String(64), nullable=False)
    hash: str = Field(sa_type=String(64), nullable=False, unique=True)


class AuditHead(Record, table=True):
    """The chain's recorded end, moved forward by every append in the same transaction.

    Without it, deleting the newest events would leave a shorter chain that still verifies;
    with it, `verify` sees that events the head counts are gone. Triggers allow only moving it
    forward (see migration 0501).
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_id: int = Field(default=0, sa_type=BigInteger, nullable=False)
    last_hash: str = Field(sa_type=String(64), nullable=False)
    # The audit key's fingerprint (store/audit_key.py), fixed by the first keyed append, and the
    # first event hashed under the key (earlier events keep their plain sha256).
    key_fingerprint: str = Field(default="", sa_type=String(16), nullable=False, sa_column_kwargs={"server_default": ""})
    keyed_from: int = Field(default=1, sa_type=BigInteger, nullable=False, sa_column_kwargs={"server_default": "1"})
