"""Selection into a wave, its rejections, and the purchase-deadline sweep.

A wave holds up to 800,000 participants, so both are set-based SQL (INSERT ... SELECT, UPDATE
... FROM), never a loop over ORM objects:

- Eligibility: every registered participant gets at most one rejection reason per wave, computed
  by one CASE (invalid NIK, age outside 18-64 on the wave's start date, blacklisted, on an
  exclusion list), written as `selection_rejection` rows that can be listed afterwards.
- The draw: eligible participants are ordered by md5("<seed>:<NIK>") (see `_draw`), so the same
  seed over the same registry picks the same people on either back end; then taken in that
  order within the province quotas and the total quota (`pick`).
- Card numbers follow the draw: 5, the wave number in five digits, the rank in ten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from store.actor import Actor
from store.bulk import insert_rows
from store.engine import Database
from store.errors import Conflict, RuleViolation
from store.models import (
    BlacklistEntry,
    Enrollment,
    ExclusionEntry,
    ExclusionKind,
    ExclusionList,
    Participant,
    ParticipantStatus,
    SelectionRejection,
    Wave,
    WaveState,
    utcnow,
)
from store.paging import Cursor, Page, keyset, page_of
from store.provinces import PROVINCES
from store.services.registry import mask_nik
from store.services.waves import allow_long_statements, province_quotas, wave_by_number
from store.uow import read_session, unit_of_work

MIN_AGE, MAX_AGE = 18, 64
REASONS = (
    "invalid_nik", "too_young", "too_old", "blacklisted",
    *(kind.value for kind in ExclusionKind),
)
NO_PURCHASE = "no_purchase"  # revocation and blacklist reason of the sweep
PG_SELECTION_LOCK = 0x73656C65  # "sele": one selection at a time, program-wide
_CARD_BASE = 5 * 10**15
_WAVE_FACTOR = 10**10

P = Participant.__table__
# The picks of a draw, in a temporary table of the selection's transaction (not in the schema).
_PICK = Table(
    "selection_pick", MetaData(), Column("participant_id", BigInteger, primary_key=True),
    Column("card_rank", BigInteger, nullable=False),
)


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def age_bounds(starts_on: dt.date) -> tuple[dt.date, dt.date]:
    """(latest birth date of an 18-year-old, latest birth date of someone already 65) on the day."""
    return years_before(starts_on, MIN_AGE), years_before(starts_on, MAX_AGE + 1)


def _nik_invalid(is_sqlite: bool):
    """True when the NIK is malformed or disagrees with the record's birth date and sex (the
    record's date is a real date, so agreeing with it also proves the NIK's date is real)."""
    provinces = ", ".join(f"'{code}'" for code in PROVINCES)
    if is_sqlite:
        digits = "participant.nik GLOB '*[^0-9]*'"
        date_part = (
            "printf('%02d', CAST(strftime('%d', participant.birth_date) AS INTEGER)"
            " + CASE WHEN participant.sex = 'F' THEN 40 ELSE 0 END)"
            " || strftime('%m', participant.birth_date) || substr(strftime('%Y', participant.birth_date), 3, 2)"
        )
    else:
        digits = "participant.nik ~ '[^0-9]'"
        date_part = (
            "lpad(CAST(CAST(EXTRACT(DAY FROM participant.birth_date) AS INTEGER)"
            " + CASE WHEN participant.sex = 'F' THEN 40 ELSE 0 END AS TEXT), 2, '0')"
            " || to_char(participant.birth_date, 'MMYY')"
        )
    return literal_column(
        f"({digits} OR substr(participant.nik, 1, 2) NOT IN ({provinces})"
        f" OR substr(participant.nik, 13, 4) = '0000' OR substr(participant.nik, 7, 6) <> {date_part})",
        Boolean,
    )


def rejection_reason(wave: Wave, is_sqlite: bool):
    """The first reason (in REASONS order) a registered participant may not join `wave`, or NULL."""
    youngest, oldest = age_bounds(wave.starts_on)
    exclusion = (
        select(func.min(ExclusionList.kind))
        .join(ExclusionEntry, ExclusionEntry.list_id == ExclusionList.id)
        .where(ExclusionEntry.nik == P.c.nik)
        .scalar_subquery()
    )
    return case(
        (_nik_invalid(is_sqlite), "invalid_nik"),
        (P.c.birth_date > youngest, "too_young"),
        (P.c.birth_date <= oldest, "too_old"),
        (exists().where(BlacklistEntry.nik == P.c.nik, BlacklistEntry.lifted_at.is_(None)), "blacklisted"),
        else_=exclusion,
    )


def draw_key(seed: int, nik: str) -> bytes:
    """A participant's place in the draw: md5("<seed>:<NIK>"), lowest first."""
    return hashlib.md5(f"{seed}:{nik}".encode("ascii")).digest()


def pick(ranked: Iterable[tuple[bytes, int, str]], quota: int, province_quotas: dict[str, int]) -> list[int]:
    """Participant ids in draw order (the card order), within the quotas: each province with a
    quota up to its quota (unused seats are not passed on), the provinces without one sharing
    what the province quotas leave of the total."""
    open_seats = quota - sum(province_quotas.values())
    taken: Counter[str] = Counter()
    picked: list[int] = []
    for _key, participant_id, province in ranked:
        limit = province_quotas.get(province)
        if limit is None:
            if open_seats == 0:
                continue
            open_seats -= 1
        elif taken[province] >= limit:
            continue
        taken[province] += 1
        picked.append(participant_id)
    return picked


@dataclass(frozen=True)
class SelectionResult:
    wave_number: int
    seed: int
    registered: int
    selected: int
    rejected: dict[str, int]  # reason -> count


async def _rejection_counts(session: AsyncSession, wave_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(SelectionRejection.reason, func.count())
        .where(SelectionRejection.wave_id == wave_id)
        .group_by(SelectionRejection.reason)
    )
    counts = dict(rows.all())
    return {reason: counts[reason] for reason in REASONS if reason in counts}


async def select_participants(
    db: Database, actor: Actor, wave_number: int, seed: int, *, at: dt.datetime | None = None
) -> SelectionResult:
    """Select eligible registered participants into the wave, up to its quota(s), drawn by `seed`.

    Each selected participant gets a card number and the wave's training balance; the wave goes
    in progress (its scheme is locked). `at` backdates the selection (demo fixtures only).
    """
    actor.require("wave.select")
    at = at or utcnow()
    async with unit_of_work(db, actor) as uow:
        session = uow.session
        wave = await wave_by_number(session, wave_number, for_update=True)
        if wave.state not in (WaveState.PLANNED, WaveState.OPEN):
            raise RuleViolation("wave.already_selected", number=wave.number)
        if at.date() > _deadline(wave):
            # Nobody selected now could still make a first purchase: the sweep would revoke them all.
            raise RuleViolation("wave.selection_after_deadline", number=wave.number, deadline=_deadline(wave).isoformat())
        if not 0 <= seed < 2**63:
            raise RuleViolation("wave.bad_seed", seed=seed)
        await allow_long_statements(session)
        if not db.is_sqlite:
            # Selections take turns program-wide (SQLite's BEGIN IMMEDIATE already serialises):
            # two waves drawn at once would otherwise draw from the same registered pool.
            await session.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": PG_SELECTION_LOCK})
        pool = P.c.status == ParticipantStatus.REGISTERED.value
        registered = (await session.execute(select(func.count()).select_from(P).where(pool))).scalar_one()

        reasons = select(P.c.id.label("participant_id"), rejection_reason(wave, db.is_sqlite).label("reason"))
        reasons = reasons.where(pool).subquery()
        await session.execute(
            insert(SelectionRejection).from_select(
                ["wave_id", "participant_id", "reason"],
                select(literal(wave.id, BigInteger), reasons.c.participant_id, reasons.c.reason)
                .where(reasons.c.reason.is_not(None)),
            )
        )
        rejected = await _rejection_counts(session, wave.id)

        quotas = await province_quotas(session, wave.id)
        selected = await _draw(session, db.is_sqlite, wave, seed, quotas, pool, at)
        wave.state = WaveState.IN_PROGRESS
        wave.selection_seed = seed
        wave.selected_at = at
        wave.selected_by = actor.operator_id
        wave.registered_count = registered
        uow.audit(
            "wave.selected", "wave", wave.id,
            details={"seed": seed, "registered": registered, "selected": selected, "rejected": rejected,
                     "quota": wave.quota, "province_quotas": quotas},
        )
    return SelectionResult(wave_number, seed, registered, selected, rejected)


async def _draw(session: AsyncSession, is_sqlite: bool, wave: Wave, seed: int, quotas: dict[str, int], pool, at) -> int:
    """Rank the eligible by the seeded key, pick within the quotas, give cards and balances.

    The ranking is computed here, from the NIKs read in batches of 50,000: one code path for both
    back ends, so the same seed draws the same people on either, and the quota rule is plain
    Python (`pick`). Ranking inside the database instead (window functions over md5, registered
    from Python on SQLite, COLLATE "C" on PostgreSQL) was measured at the same speed: 10 to 12 s
    for a million eligible on SQLite. The picks go back into a temporary table, and one UPDATE
    ... FROM gives every picked participant a card and the balance (most of the time: 800,000
    rows with their index entries)."""
    eligible = and_(
        pool,
        ~exists().where(SelectionRejection.wave_id == wave.id, SelectionRejection.participant_id == P.c.id),
    )
    query = select(P.c.id, P.c.province_code, P.c.nik).where(eligible).execution_options(yield_per=50_000)
    ranked: list[tuple[bytes, int, str]] = []
    async for batch in (await session.stream(query)).partitions():
        ranked.extend((draw_key(seed, nik), participant_id, province) for participant_id, province, nik in batch)
    ranked.sort()
    picked = pick(ranked, wave.quota, quotas)
    del ranked
    if is_sqlite:
        await session.execute(text("DROP TABLE IF EXISTS temp.selection_pick"))
        await session.execute(text(
            "CREATE TEMP TABLE selection_pick (participant_id INTEGER PRIMARY KEY, card_rank INTEGER NOT NULL)"
        ))
    else:
        await session.execute(text(
            "CREATE TEMP TABLE selection_pick (participant_id BIGINT PRIMARY KEY, card_rank BIGINT NOT NULL)"
            " ON COMMIT DROP"
        ))
    try:
        for start in range(0, len(picked), 50_000):
            await insert_rows(session, _PICK, [
                {"participant_id": participant_id, "card_rank": rank}
                for rank, participant_id in enumerate(picked[start:start + 50_000], start=start + 1)
            ])
        first_card = _CARD_BASE + wave.number * _WAVE_FACTOR
        pick_table = _PICK.alias("selection_pick")
        # Only participants still registered: anyone selected, revoked or changed meanwhile is
        # not taken from elsewhere (the database refuses moving a participant between waves too).
        result = await session.execute(
            update(P)
            .where(P.c.id == pick_table.c.participant_id, P.c.status == ParticipantStatus.REGISTERED.value,
                   P.c.wave_id.is_(None))
            .values(
                status=ParticipantStatus.SELECTED.value, wave_id=wave.id,
                card_number=cast(literal(first_card, BigInteger) + pick_table.c.card_rank, String(20)),
                balance_idr=wave.training_balance_idr, selected_at=at, version=P.c.version + 1,
            )
        )
        if result.rowcount != len(picked):
            # The pool changed under the draw: the wave would hold fewer than it was drawn for.
            raise Conflict("wave.selection_changed", number=wave.number, drawn=len(picked), taken=result.rowcount)
        return result.rowcount
    finally:
        if is_sqlite:
            await session.execute(text("DROP TABLE IF EXISTS temp.selection_pick"))


# --- rejections ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRow:
    id: int  # the rejection's id (the page cursor)
    participant_id: int
    nik: str  # masked
    full_name: str
    reason: str


async def rejection_counts(db: Database, actor: Actor, wave_number: int) -> dict[str, int]:
    actor.require("wave.read")
    async with read_session(db) as session:
        wave = await wave_by_number(session, wave_number)
        return await _rejection_counts(session, wave.id)


async def list_rejections(
    db: Database, actor: Actor, wave_number: int, reason: str = "", cursor: Cursor | None = None, limit: int = 100
) -> Page[RejectedRow]:
    """The participants the wave's selection rejected, with their reason (optionally one reason)."""
    actor.require("wave.read")
    async with read_session(db) as session:
        wave = await wave_by_number(session, wave_number)
        query = (
            select(SelectionRejection.id, SelectionRejection.participant_id, Participant.nik, Participant.full_name,
                   SelectionRejection.reason)
            .join(Participant, Participant.id == SelectionRejection.participant_id)
            .where(SelectionRejection.wave_id == wave.id)
        )
        if reason:
            query = query.where(SelectionRejection.reason == reason)
        if actor.is_platform_staff:
            # Only people who bought on their platform (a rejection elsewhere is no business of theirs).
            query = query.where(exists().where(
                Enrollment.participant_id == SelectionRejection.participant_id, Enrollment.platform_id == actor.platform_id,
            ))
        rows = (await session.execute(keyset(query, [SelectionRejection.id], cursor, limit))).all()
    views = [RejectedRow(row.id, row.participant_id, mask_nik(row.nik), row.full_name, row.reason) for row in rows]
    return page_of(views, limit, lambda view: (view.id,))


# --- the purchase-deadline sweep -----------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    wave_number: int
    deadline: dt.date
    revoked: int
    blacklisted: int
    returned_idr: int


def _unpurchased(wave: Wave):
    return and_(P.c.wave_id == wave.id, P.c.status == ParticipantStatus.SELECTED.value)


def _deadline(wave: Wave) -> dt.date:
    return wave.starts_on + dt.timedelta(days=wave.purchase_deadline_days)


def _check_sweepable(wave: Wave, today: dt.date) -> None:
    if wave.state != WaveState.IN_PROGRESS:
        raise RuleViolation("wave.not_in_progress", number=wave.number)
    if today <= _deadline(wave):
        raise RuleViolation("wave.deadline_not_passed", number=wave.number, deadline=_deadline(wave).isoformat())


async def sweep_preview(db: Database, actor: Actor, wave_number: int, *, today: dt.date | None = None) -> SweepResult:
    """What a sweep would do now (nothing is blacklisted yet, so `blacklisted` is an upper bound)."""
    actor.require("wave.read")
    today = today or dt.date.today()
    async with read_session(db) as session:
        wave = await wave_by_number(session, wave_number)
        _check_sweepable(wave, today)
        count, total = (
            await session.execute(select(func.count(), func.coalesce(func.sum(P.c.balance_idr), 0)).where(_unpurchased(wave)))
        ).one()
    return SweepResult(wave.number, _deadline(wave), count, count, int(total))


async def sweep_wave(
    db: Database, actor: Actor, wave_number: int, *, today: dt.date | None = None, at: dt.datetime | None = None
) -> SweepResult:
    """Revoke the cards of the wave's participants who bought nothing by the deadline, blacklist
    their NIKs (reason: no purchase in time) and return their balances. Audited with counts."""
    actor.require("wave.sweep")
    today = today or dt.date.today()
    at = at or utcnow()
    async with unit_of_work(db, actor) as uow:
        session = uow.session
        wave = await wave_by_number(session, wave_number, for_update=True)
        _check_sweepable(wave, today)
        await allow_long_statements(session)
        # Purchases hold their wave FOR SHARE (waves.hold_waves): with the wave locked here none
        # is half-way, so the participants counted, blacklisted and revoked below are the same.
        revoked, returned = (
            await session.execute(select(func.count(), func.coalesce(func.sum(P.c.balance_idr), 0)).where(_unpurchased(wave)))
        ).one()
        blacklisted = (
            await session.execute(
                insert(BlacklistEntry).from_select(
                    ["version", "nik", "reason", "source", "listed_on", "listed_by", "lift_reason", "lift_decision_ref"],
                    select(
                        literal(1), P.c.nik, literal(NO_PURCHASE), literal(f"sweep:wave:{wave.number}"),
                        literal(today), literal(actor.operator_id, BigInteger), literal(""), literal(""),
                    ).where(
                        _unpurchased(wave),
                        ~exists().where(BlacklistEntry.nik == P.c.nik, BlacklistEntry.lifted_at.is_(None)),
                    ),
                )
            )
        ).rowcount
        await session.execute(
            update(P).where(_unpurchased(wave)).values(
                status=ParticipantStatus.REVOKED.value, balance_idr=0, revoked_at=at, revoke_reason=NO_PURCHASE,
                version=P.c.version + 1,
            )
        )
        wave.swept_at = at
        uow.audit(
            "wave.swept", "wave", wave.id,
            details={"deadline": _deadline(wave), "revoked": revoked, "blacklisted": blacklisted,
                     "returned_idr": int(returned)},  # PostgreSQL sums BIGINT as NUMERIC
        )
    return SweepResult(wave.number, _deadline(wave), revoked, blacklisted, int(returned))
