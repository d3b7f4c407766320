"""The participant registry: keyset pages searched by NIK or name and filtered by wave, province
and status; NIK masking and its audited reveal; the blacklist and its audited lifting.

NIKs leave the store masked (`3201**********01`) in every list; a role allowed to see one asks
for it with `reveal_nik`, which writes an audit event first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, exists, func, select
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from store.failures import explain_constraint
from store.personal_data import REVEALABLE, mask_number
from store.models import BlacklistEntry, Enrollment, Participant, ParticipantStatus, ParticipantTally, Wave, utcnow
from store.paging import Cursor, Page, keyset, page_of
from store.sorting import Order, ordered, sort_key
from store.services.waves import hold_lists
from store.provinces import PROVINCES
from store import search
from store import counting
from store.counting import Count, count_of
from store.text import fold
from store.operation import operation
from store.uow import UnitOfWork, read_session
from store.validators import parse_nik, require_text

explain_constraint("uq_blacklist_entry_standing_nik", "blacklist.already_listed", Conflict)
explain_constraint("ck_participant_balance_not_negative", "participant.balance_negative")

Ts = TypeVarTuple("Ts")

STATUSES = tuple(status.value for status in ParticipantStatus)


mask_nik = mask_number  # a NIK as every list shows it (store/personal_data.py)


def new_participant_row(
    *, nik: str, full_name: str, birth_date: dt.date, sex: str, phone: str, email: str, family_card: str,
    created_at: dt.datetime,
) -> dict[str, Any]:
    """A whole `participant` row for bulk inserts (COPY needs every column), as registered."""
    return {
        "version": 1, "nik": nik, "full_name": full_name, "name_key": fold(full_name), "birth_date": birth_date,
        "sex": sex, "province_code": nik[:2], "phone": phone, "email": email, "family_card": family_card,
        "status": ParticipantStatus.REGISTERED.value, "wave_id": None, "card_number": None, "balance_idr": 0,
        "selected_at": None, "revoked_at": None, "revoke_reason": "", "created_at": created_at,
    }


# --- lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantFilter:
    search: str = ""  # a NIK, part of one, or words of the name (store/search.py)
    wave_id: int | None = None
    province: str = ""
    status: str = ""
    sort: str = "status"  # one of PARTICIPANT_ORDERS; a search orders its own results


# The orders of the participants list (store/sorting.py), each an index's: (status, id), with
# the filtered (wave_id | province_code, status, id); (name_key, id); the primary key.
PARTICIPANT_ORDERS = {
    "status": Order((col(Participant.status), col(Participant.id))),
    "name": Order((col(Participant.name_key), col(Participant.id))),
    "newest": Order((col(Participant.id),), descending=True),
    "registered": Order((col(Participant.id),)),
}
# What the operator chooses between with `o` ("registered" is the order of a search by parts).
CHOSEN_ORDERS = ("status", "name", "newest")


@dataclass(frozen=True)
class ParticipantRow:
    id: int
    nik: str  # masked
    full_name: str
    birth_date: dt.date
    sex: str
    province_code: str
    status: str
    wave_number: int | None
    balance_idr: int
    card_number: str | None = None  # the Prakerja card, once selected into a wave


def filtered(
    query: Select[*Ts], filters: ParticipantFilter, actor: Actor, *, is_sqlite: bool | None = None,
    walk_ids: bool = False, walk_order: bool = False,
) -> Select[*Ts]:
    """`query` (over participant) narrowed by the filters and by platform staff's scope. A search
    text needs the back end (`is_sqlite`): the trigram index is asked differently on each (and not
    at all for a common part, `walk_ids`: store/search.py). With `walk_order` (SQLite) the wave,
    province and status are checked row by row, so the list walks its order's index instead of
    sorting all the rows a filter's index hands over (`_walks_its_order`)."""
    def equals(column: Any, value: Any) -> Any:
        # SQLite's documented way to keep a term from choosing the index: a unary plus.
        return (UnaryExpression(column, operator=custom_op("+"), type_=column.type) if walk_order else column) == value

    typed = search.parse(filters.search)
    if typed.kind:
        if is_sqlite is None:
            raise ValueError("a participant search needs to know its back end")
        condition = search.condition(typed, is_sqlite, walk_ids=walk_ids)
        assert condition is not None  # whatever was typed has its condition
        query = query.where(condition)
    if filters.wave_id is not None:
        # An int, as the column's: a unary plus also drops SQLite's conversion of "7" to 7.
        query = query.where(equals(col(Participant.wave_id), int(filters.wave_id)))
    if filters.province:
        query = query.where(equals(col(Participant.province_code), filters.province))
    if filters.status:
        query = query.where(equals(col(Participant.status), filters.status))
    if actor.is_platform_staff:
        # Platform staff see the participants who bought a course on their platform.
        query = query.where(
            exists().where(
                col(Enrollment.participant_id) == col(Participant.id), col(Enrollment.platform_id) == actor.platform_id
            )
        )
    return query


# Under a filter, a list in another order than status reads either the filter's index, then sorts
# all it kept, or its order's index, skipping the rows the filter leaves out. PostgreSQL chooses
# from its statistics of each value; SQLite has none (no STAT4 in the builds Mitra runs on) and
# always took the filter's index: a wave of 300,000 by name took 380 ms a page at a million, and
# its sort grows with the wave. The tally knows how many rows a wave and status keep: up to this
# many are sorted; more, or a province (the smallest holds a few tenths of a percent of Indonesians),
# walk the order's index.
SORTED_AT_MOST = 20_000


async def _walks_its_order(session: AsyncSession, filters: ParticipantFilter, sort: str) -> bool:
    """Whether SQLite should walk the order's index for this list (see SORTED_AT_MOST)."""
    if sort == "status" or (filters.wave_id is None and not filters.province and not filters.status):
        return False  # the filter's own index is in this order, or there is no filter
    if filters.wave_id is None and not filters.status:
        return True
    return await tallied(session, filters.wave_id, filters.status) > SORTED_AT_MOST


async def tallied(session: AsyncSession, wave_id: int | None, status: str) -> int:
    """How many participants a wave and status hold, from the tally the database keeps (exact,
    a handful of rows read whatever the registry's size)."""
    query = select(func.coalesce(func.sum(col(ParticipantTally.n)), 0))
    if wave_id is not None:
        query = query.where(col(ParticipantTally.wave_key) == wave_id)
    if status:
        query = query.where(col(ParticipantTally.status) == status)
    return int((await session.execute(query)).scalar_one())


def _check_filter(filters: ParticipantFilter) -> None:
    if filters.province and filters.province not in PROVINCES:
        raise InvalidInput("input.province", field="province", value=filters.province)
    if filters.status and filters.status not in STATUSES:
        raise InvalidInput("participant.unknown_status", field="status", value=filters.status)


async def list_participants(
    db: Database, actor: Actor, filters: ParticipantFilter, cursor: Cursor | None = None, limit: int = 100
) -> Page[ParticipantRow]:
    """One keyset page in the filter's order; a name search pages by (name_key, id), a search by
    parts of a name or NIK by id. Every order is an index's, so a page costs the same at any depth
    of a million-row registry; under a filter, an order other than status sorts what the filter
    keeps when that is little, and otherwise walks its own index (`_walks_its_order`)."""
    actor.require("participant.read")
    _check_filter(filters)
    typed = search.parse(filters.search)
    # A search by parts pages by id (the trigram index hands its matches over in that order).
    sort = "name" if typed.by_name_key else "registered" if typed.kind else filters.sort
    async with read_session(db) as session:
        walk_ids = await search.walks_ids(session, typed, db.is_sqlite)
        walk_order = db.is_sqlite and not typed.kind and await _walks_its_order(session, filters, sort)
        query = filtered(
            select(
                col(Participant.id), col(Participant.nik), col(Participant.full_name), col(Participant.birth_date),
                col(Participant.sex), col(Participant.province_code), col(Participant.status), col(Wave.number),
                col(Participant.balance_idr), col(Participant.card_number),
            ).outerjoin(Wave, col(Wave.id) == col(Participant.wave_id)),
            filters, actor, is_sqlite=db.is_sqlite, walk_ids=walk_ids, walk_order=walk_order,
        )
        rows = (await session.execute(ordered(query, PARTICIPANT_ORDERS, sort, cursor, limit))).all()
    page = page_of(rows, limit, sort_key, cursor=cursor)
    return page.with_rows([
        ParticipantRow(row.id, mask_nik(row.nik), row.full_name, row.birth_date, row.sex, row.province_code,
                       row.status, row.number, row.balance_idr, row.card_number)
        for row in page.rows
    ])


async def count_participants(db: Database, actor: Actor, filters: ParticipantFilter) -> Count:
    """How many participants the list under `filters` holds (exact, or an estimate marked as one
    at the registry's scale: store/counting.py)."""
    actor.require("participant.read")
    _check_filter(filters)
    async with read_session(db, replica=True) as session:
        if not filters.search.strip() and not filters.province and not actor.is_platform_staff:
            # By wave and status only: the tally the database keeps has it, exactly, at once.
            return Count(await tallied(session, filters.wave_id, filters.status), True)
        query = filtered(select(col(Participant.id)), filters, actor, is_sqlite=db.is_sqlite)
        return await count_of(session, query, exact_up_to=counting.EXACT_UP_TO)


@operation
async def reveal(uow: UnitOfWork, participant_id: int, field: str, reason: str) -> str:
    """One personal field of one participant in full (NIK, family card, phone or e-mail), for a
    role allowed to see it, within the operator's scope, with a reason; the reveal is audited
    (the field and the reason, never the value)."""
    if field not in REVEALABLE:
        raise InvalidInput("participant.reveal_field", field="field", value=field)
    uow.actor.require(REVEALABLE[field])
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("input.required", field="reason")
    value: str | None = (  # every revealable field is a text column
        await uow.session.execute(select(getattr(Participant, field)).where(col(Participant.id) == participant_id))
    ).scalar_one_or_none()
    if value is None:
        raise NotFound("participant.not_found", id=participant_id)
    await participant_in_scope(uow.session, uow.actor, participant_id)
    action = "participant.nik_revealed" if field == "nik" else "participant.personal_data_revealed"
    uow.audit(action, "participant", participant_id, reason=reason, details={"field": field})
    return value


async def reveal_nik(db: Database, actor: Actor, participant_id: int, reason: str) -> str:
    return await reveal(db, actor, participant_id, "nik", reason)


async def participant_in_scope(session: AsyncSession, actor: Actor, participant_id: int) -> None:
    """Platform staff may open only participants who bought a course on their platform."""
    if not actor.is_platform_staff:
        return
    found = (
        await session.execute(
            select(col(Enrollment.id)).where(
                col(Enrollment.participant_id) == participant_id, col(Enrollment.platform_id) == actor.platform_id
            ).limit(1)
        )
    ).first()
    if found is None:
        raise PermissionDenied("permission.other_platform", operator=actor.username)


# --- blacklist -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BlacklistView:
    id: int
    nik: str  # masked
    reason: str
    source: str
    listed_on: dt.date
    lifted_at: dt.datetime | None
    lift_reason: str
    lift_decision_ref: str
    version: int

    @property
    def standing(self) -> bool:
        return self.lifted_at is None


def blacklist_view(entry: BlacklistEntry) -> BlacklistView:
    assert entry.id is not None  # an entry read or flushed
    return BlacklistView(
        entry.id, mask_nik(entry.nik), entry.reason, entry.source, entry.listed_on, entry.lifted_at,
        entry.lift_reason, entry.lift_decision_ref, entry.version,
    )


@operation
async def blacklist_nik(
    uow: UnitOfWork, nik: str, reason: str, source: str, listed_on: dt.date | None = None
) -> BlacklistView:
    """Put a NIK on the blacklist (it may not be selected into any wave while the entry stands)."""
    uow.actor.require("blacklist.add")
    parse_nik(nik)
    nik = nik.strip()
    reason = require_text(reason, "reason", max_length=2000)
    source = require_text(source, "source")
    await hold_lists(uow.session)
    standing = (
        await uow.session.execute(
            select(col(BlacklistEntry.id))
            .where(col(BlacklistEntry.nik) == nik, col(BlacklistEntry.lifted_at).is_(None))
        )
    ).first()
    if standing:
        raise Conflict("blacklist.already_listed")
    entry = BlacklistEntry(
        nik=nik, reason=reason, source=source, listed_on=listed_on or dt.date.today(),
        listed_by=uow.actor.operator_id,
    )
    uow.session.add(entry)
    await uow.session.flush()
    uow.audit("blacklist.added", "blacklist_entry", entry.id,
              after={"nik": mask_nik(nik), "reason": reason, "source": source})
    return blacklist_view(entry)


@operation
async def lift_blacklist(
    uow: UnitOfWork, entry_id: int, reason: str, decision_ref: str, *, expected_version: int | None = None
) -> BlacklistView:
    """Lift a standing entry: an admin records the decision (its reference) and the reason."""
    uow.actor.require("blacklist.lift")
    reason = require_text(reason, "reason", max_length=2000)
    decision_ref = require_text(decision_ref, "decision_ref")
    entry = await uow.session.get(BlacklistEntry, entry_id, with_for_update=True)
    if entry is None:
        raise NotFound("blacklist.not_found", id=entry_id)
    if expected_version is not None and entry.version != expected_version:
        raise Conflict("record.changed")
    if entry.lifted_at is not None:
        raise RuleViolation("blacklist.already_lifted")
    entry.lifted_at = utcnow()
    entry.lifted_by = uow.actor.operator_id
    entry.lift_reason = reason
    entry.lift_decision_ref = decision_ref
    uow.audit("blacklist.lifted", "blacklist_entry", entry.id,
              details={"nik": mask_nik(entry.nik), "decision": decision_ref}, reason=reason)
    await uow.session.flush()
    return blacklist_view(entry)


async def list_blacklist(
    db: Database, actor: Actor, *, standing_only: bool = True, cursor: Cursor | None = None, limit: int = 100
) -> Page[BlacklistView]:
    """Newest entries first."""
    actor.require("blacklist.read")
    query = select(BlacklistEntry)
    if standing_only:
        query = query.where(col(BlacklistEntry.lifted_at).is_(None))
    async with read_session(db) as session:
        entries = (
            await session.execute(keyset(query, [col(BlacklistEntry.id)], cursor, limit, descending=True))
        ).scalars()
        views = [blacklist_view(entry) for entry in entries]
    return page_of(views, limit, lambda view: (view.id,), cursor=cursor)
