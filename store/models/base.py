"""Column types and mixins every table shares.

- Ids are BIGINT on PostgreSQL and INTEGER PRIMARY KEY (the rowid) on SQLite.
- Money is integer rupiah in BIGINT columns named `*_idr`: never float, never Decimal.
- Timestamps are stored in UTC and always come back timezone-aware.
- Editable records carry `version` for optimistic locking (SQLAlchemy's version_id_col).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, MetaData, TypeDecorator
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

# Constraint names are part of the schema: migrations and error classification rely on them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

ID = BigInteger().with_variant(Integer(), "sqlite")
Money = BigInteger


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on both back ends (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def id_field(**kwargs) -> int | None:
    return Field(default=None, primary_key=True, sa_type=ID, **kwargs)


def fk(target: str, *, nullable: bool = False, index: bool = False, ondelete: str | None = None):
    """A foreign key column to `target` ("table.id")."""
    return Field(
        default=None,
        foreign_key=target,
        sa_type=ID,
        nullable=nullable,
        index=index,
        ondelete=ondelete,
    )


def money(*, nullable: bool = False, default: int | None = None):
    return Field(default=default, sa_type=Money, nullable=nullable)


def timestamp(*, nullable: bool = True, default_now: bool = False):
    if default_now:
        return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=nullable)
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


def one_of(column: str, values: type[StrEnum], *, nullable: bool = False) -> CheckConstraint:
    """CHECK that `column` holds one of the enum's values (named `<column>_valid`)."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    condition = f"{column} IN ({allowed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=f"{column}_valid")


class Versioned(SQLModel):
    """Optimistic locking: every UPDATE checks and bumps `version`.

    A stale write raises StaleDataError, which the unit of work turns into the operator-facing
    "changed by someone else" conflict.
    """

    version: int = Field(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}
