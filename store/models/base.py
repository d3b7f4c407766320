"""Column types and mixins every table shares.

- Ids are BIGINT on PostgreSQL and INTEGER PRIMARY KEY (the rowid) on SQLite.
- Money is integer rupiah in BIGINT columns named `*_idr`: never float, never Decimal.
- Timestamps are stored in UTC and always come back timezone-aware.
- Editable records carry `version` for optimistic locking (SQLAlchemy's version_id_col).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic_core import PydanticUndefined
from sqlalchemy import BigInteger, CheckConstraint, DateTime, Dialect, Integer, MetaData, Table, TypeDecorator
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel
from sqlmodel.main import OnDeleteType

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


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on both back ends (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# The column helpers below return what `Field` returns: Any, so that they serve as the default
# of a field of any type, as `Field` itself does.


def id_field() -> Any:
    return Field(default=None, primary_key=True, sa_type=ID)


def fk(target: str, *, nullable: bool = False, index: bool = False, ondelete: OnDeleteType | None = None) -> Any:
    """A foreign key column to `target` ("table.id")."""
    return Field(
        default=None,
        foreign_key=target,
        sa_type=ID,
        nullable=nullable,
        index=index,
        ondelete=PydanticUndefined if ondelete is None else ondelete,  # SQLModel's "not given"
    )


def money(*, nullable: bool = False, default: int | None = None) -> Any:
    return Field(default=default, sa_type=Money, nullable=nullable)


def timestamp(*, nullable: bool = True, default_now: bool = False) -> Any:
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


class Record(SQLModel):
    """The base of every table, for the type checker's sake: SQLModel's own class does not
    declare `__table__`, which every table has (services build Core statements on it)."""

    if TYPE_CHECKING:
        __table__: ClassVar[Table]


class Versioned(Record):
    """Optimistic locking: every UPDATE checks and bumps `version`.

    A stale write raises StaleDataError, which the unit of work turns into the operator-facing
    "changed by someone else" conflict.
    """

    version: int = Field(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}
