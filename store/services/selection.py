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
import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
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
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from store.actor import Actor
from store.bulk import insert_rows
from store.engine import Database, refresh_statistics, roomy_cache
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
from store.operation import operation
from store.uow import UnitOfWork, read_session

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
    Column("version", Integer, nullable=False), Column("card_rank", BigInteger, nullable=False),
)


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def age_bounds(starts_on: dt.date) -> tuple[dt.date, dt.date]:
    """(latest birth date of an 18-year-old, latest birth date of someone already 65) on the day."""
    return years_before(starts_on, MIN_AGE), years_before(starts_on, MAX_AGE + 1)


def _nik_invalid(is_sqlite: bool) -> ColumnElement[bool]:
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


def rejection_reason(wave: Wave, is_sqlite: bool) -> ColumnElement[str | None]:
    """The first reason (in REASONS order) a registered participant may not join `wave`, or NULL."""
    youngest, oldest = age_bounds(wave.starts_on)
    exclusion = (
        select(func.min(col(ExclusionList.kind)))
        .join(ExclusionEntry, col(ExclusionEntry.list_id) == col(ExclusionList.id))
        .where(col(ExclusionEntry.nik) == P.c.nik)
        .scalar_subquery()
    )
    return case(
        (_nik_invalid(is_sqlite), "invalid_nik"),
        (P.c.birth_date > youngest, "too_young"),
        (P.c.birth_date <= oldest, "too_old"),
        (exists().where(col(BlacklistEntry.nik) == P.c.nik, col(BlacklistEntry.lifted_at).is_(None)), "blacklisted"),
        else_=exclusion,
    )


def draw_key(seed: int, nik: str) -> bytes:
    """A participant's place in the draw: md5("<seed>:<NIK>"), lowest first."""
    return hashlib.md5(f"{seed}:{nik}".encode("ascii")).digest()


def pick(ranked: Iterable[tuple[int, str]], quota: int, province_quotas: dict[str, int]) -> list[int]:
    """Participant ids in draw order (the card order), within the quotas: each province with a
    quota up to its quota (unused seats are not passed on), the provinces without one sharing
    what the province quotas leave of the total. `ranked`: (participant id, province), in draw
    order."""
    open_seats = quota - sum(province_quotas.values())
    taken: Counter[str] = Counter()
    picked: list[int] = []
    for participant_id, province in ranked:
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


class Contenders:
    """The eligible participants a draw could still pick, kept while the registry streams by:
    the `limit` lowest keys of each province with a quota, and of the others together as many as
    the seats they share. `pick` over them, in key order, picks exactly as over everyone; the
    draw holds a wave's worth of participants, not the registry (20 million: gigabytes)."""

    def __init__(self, quota: int, province_quotas: dict[str, int]) -> None:
        self._limits = dict(province_quotas)
        self._open_seats = max(0, quota - sum(province_quotas.values()))
        # Per province with a quota, and None for the rest: max-heaps (keys negated) of
        # (-key, participant id, province, version).
        self._heaps: dict[str | None, list[tuple[int, int, str, int]]] = {}

    def offer(self, key: bytes, participant_id: int, province: str, version: int) -> None:
        group = province if province in self._limits else None
        room = self._limits[province] if group is not None else self._open_seats
        if room == 0:
            return
        heap = self._heaps.setdefault(group, [])
        entry = (-int.from_bytes(key, "big"), participant_id, province, version)
        if len(heap) < room:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:  # a lower key than the highest kept
            heapq.heapreplace(heap, entry)

    def ranked(self) -> list[tuple[int, str, int]]:
        """(participant id, province, version) of every contender, in draw order."""
        return [(participant_id, province, version) for _key, participant_id, province, version in sorted(
            (-negated, participant_id, province, version)
            for heap in self._heaps.values() for negated, participant_id, province, version in heap
        )]


@dataclass(frozen=True)
class SelectionResult:
    wave_number: int
    seed: int
    registered: int
    selected: int
    rejected: dict[str, int]  # reason -> count


async def _rejection_counts(session: AsyncSession, wave_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(col(SelectionRejection.reason), func.count())
        .where(col(SelectionRejection.wave_id) == wave_id)
        .group_by(col(SelectionRejection.reason))
    )
    counts = dict(rows.all())
    return {reason: counts[reason] for reason in REASONS if reason in counts}


class _PoolChanged(Exception):
    """The registry moved between the draw's snapshot and its write: draw again, under the lock."""

    def __init__(self, drawn: int = 0, taken: int = 0) -> None:
        super().__init__(drawn, taken)
        self.drawn, self.taken = drawn, taken


@dataclass(frozen=True)
class _Draw:
    """A draw computed from one consistent view of the registry: who is rejected and why, and the
    picks in card order with the row version each was drawn at."""

    wave_version: int
    lists_seen: tuple[int, ...]  # the blacklist and exclusion entries the draw knew (`_lists_seen`)
    quotas: dict[str, int]
    registered: int
    rejections: list[tuple[int, str]]  # (participant id, reason)
    picks: list[tuple[int, int]]  # (participant id, version), card order


def _check_selectable(wave: Wave, seed: int, at: dt.datetime) -> None:
    if wave.state not in (WaveState.PLANNED, WaveState.OPEN):
        raise RuleViolation("wave.already_selected", number=wave.number)
    if at.date() > _deadline(wave):
        # Nobody selected now could still make a first purchase: the sweep would revoke them all.
        raise RuleViolation("wave.selection_after_deadline", number=wave.number, deadline=_deadline(wave).isoformat())
    if not 0 <= seed < 2**63:
        raise RuleViolation("wave.bad_seed", seed=seed)


async def select_participants(
    db: Database, actor: Actor, wave_number: int, seed: int, *, at: dt.datetime | None = None
) -> SelectionResult:
    """Select eligible registered participants into the wave, up to its quota(s), drawn by `seed`.

    Each selected participant gets a card number and the wave's training balance; the wave goes
    in progress (its scheme is locked). `at` backdates the selection (demo fixtures only).

    The draw reads the whole registry (tens of seconds at a million) from a snapshot, holding no
    write lock, so other operators keep working; only writing its result takes the lock (SQLite)
    or the selection lock (PostgreSQL). If any picked participant changed in between, or the wave
    did, the draw is made again inside the write transaction, where nothing can move under it.
    """
    actor.require("wave.select")
    at = at or utcnow()
    async with read_session(db, snapshot=True) as session:
        wave = await wave_by_number(session, wave_number)
        _check_selectable(wave, seed, at)
        await allow_long_statements(session)
        draw = await _read_draw(session, db.is_sqlite, wave, seed)
    try:
        result = await _write_selection(db, actor, wave_number, seed, at, draw)
    except _PoolChanged:
        try:
            result = await _write_selection(db, actor, wave_number, seed, at, None)
        except _PoolChanged as changed:
            # Only PostgreSQL gets here: its selection lock keeps other selections out, not every
            # writer, so a participant edited in the moment between reading and writing spoils it.
            raise Conflict(
                "wave.selection_changed", number=wave_number, drawn=changed.drawn, taken=changed.taken
            ) from None
    await refresh_statistics(db, "participant")  # the wave's lists are planned knowing it is full
    return result


@operation
async def _write_selection(
    uow: UnitOfWork, wave_number: int, seed: int, at: dt.datetime, draw: _Draw | None
) -> SelectionResult:
    """One transaction: the rejections, the picks' cards and balances, the wave in progress, the
    audit event. Without a `draw`, it is made here, under the lock."""
    session = uow.session
    wave = await wave_by_number(session, wave_number, for_update=True)
    _check_selectable(wave, seed, at)
    await allow_long_statements(session)
    await roomy_cache(await session.connection())
    if not uow.db.is_sqlite:
        # Selections take turns program-wide (SQLite's BEGIN IMMEDIATE already serialises):
        # two waves drawn at once would otherwise draw from the same registered pool.
        await session.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": PG_SELECTION_LOCK})
    if draw is None:
        draw = await _read_draw(session, uow.db.is_sqlite, wave, seed)
    elif draw.wave_version != wave.version or await _lists_seen(session) != draw.lists_seen:
        # The quotas or the wave's dates moved since the snapshot, or someone was listed
        # (who may be among the picks: they must not join the wave).
        raise _PoolChanged
    for start in range(0, len(draw.rejections), 50_000):
        await insert_rows(session, SelectionRejection.__table__, [
            {"wave_id": wave.id, "participant_id": participant_id, "reason": reason}
            for participant_id, reason in draw.rejections[start:start + 50_000]
        ])
    selected = await _give_cards(session, uow.db.is_sqlite, wave, draw.picks, at)
    counted = Counter(reason for _id, reason in draw.rejections)
    rejected = {reason: counted[reason] for reason in REASONS if reason in counted}
    wave.state = WaveState.IN_PROGRESS
    wave.selection_seed = seed
    wave.selected_at = at
    wave.selected_by = uow.actor.operator_id
    wave.registered_count = draw.registered
    uow.audit(
        "wave.selected", "wave", wave.id,
        details={"seed": seed, "registered": draw.registered, "selected": selected, "rejected": rejected,
                 "quota": wave.quota, "province_quotas": draw.quotas},
    )
    return SelectionResult(wave_number, seed, draw.registered, selected, rejected)


async def _read_draw(session: AsyncSession, is_sqlite: bool, wave: Wave, seed: int) -> _Draw:
    """Every registered participant's rejection reason, and the eligible ranked by the seeded key
    and picked within the quotas, from one pass over the registry.

    The ranking is computed here, from the NIKs read in batches of 50,000: one code path for both
    back ends, so the same seed draws the same people on either, and the quota rule is plain
    Python (`pick`). Ranking inside the database instead (window functions over md5, registered
    from Python on SQLite, COLLATE "C" on PostgreSQL) was measured at the same speed. Only the
    contenders are kept (`Contenders`): at 20 million registered, keeping everyone's key took
    5 GB."""
    assert wave.id is not None  # a wave read
    quotas = await province_quotas(session, wave.id)
    lists_seen = await _lists_seen(session)
    query = (
        select(P.c.id, P.c.version, P.c.province_code, P.c.nik, rejection_reason(wave, is_sqlite))
        .where(P.c.status == ParticipantStatus.REGISTERED.value)
        .execution_options(yield_per=50_000)
    )
    rejections: list[tuple[int, str]] = []
    contenders = Contenders(wave.quota, quotas)
    eligible = 0
    async for batch in (await session.stream(query)).partitions():
        for participant_id, version, province, nik, reason in batch:
            if reason is None:
                eligible += 1
                contenders.offer(draw_key(seed, nik), participant_id, province, version)
            else:
                rejections.append((participant_id, reason))
    registered = eligible + len(rejections)
    ranked = contenders.ranked()
    versions = {participant_id: version for participant_id, _province, version in ranked}
    chosen = pick(((participant_id, province) for participant_id, province, _version in ranked), wave.quota, quotas)
    picks = [(participant_id, versions[participant_id]) for participant_id in chosen]
    return _Draw(wave.version, lists_seen, quotas, registered, rejections, picks)


async def _lists_seen(session: AsyncSession) -> tuple[int, ...]:
    """How many blacklist and exclusion entries there are, and the newest of each: entries are
    added (a lifted one stays, and only lets more people in), so equal figures mean nobody new
    is barred. The count catches an entry committed late with an older id (PostgreSQL's
    sequences hand ids out before commit)."""
    row = (await session.execute(select(
        select(func.count()).select_from(BlacklistEntry).scalar_subquery(),
        select(func.coalesce(func.max(col(BlacklistEntry.id)), 0)).scalar_subquery(),
        select(func.count()).select_from(ExclusionEntry).scalar_subquery(),
        select(func.coalesce(func.max(col(ExclusionEntry.id)), 0)).scalar_subquery(),
    ))).one()
    return tuple(int(value) for value in row)


async def _give_cards(
    session: AsyncSession, is_sqlite: bool, wave: Wave, picks: list[tuple[int, int]], at: dt.datetime
) -> int:
    """Card, balance and SELECTED status for every pick, by one UPDATE ... FROM a temporary table
    of the picks (most of the selection's write time: 800,000 rows with their index entries).
    A pick whose row moved since it was drawn (another version, no longer registered) makes the
    draw stale: `_PoolChanged`, and nothing is written."""
    if is_sqlite:
        await session.execute(text("DROP TABLE IF EXISTS temp.selection_pick"))
        await session.execute(text(
            "CREATE TEMP TABLE selection_pick (participant_id INTEGER PRIMARY KEY, version INTEGER NOT NULL,"
            " card_rank INTEGER NOT NULL)"
        ))
    else:
        await session.execute(text(
            "CREATE TEMP TABLE selection_pick (participant_id BIGINT PRIMARY KEY, version INTEGER NOT NULL,"
            " card_rank BIGINT NOT NULL) ON COMMIT DROP"
        ))
    try:
        for start in range(0, len(picks), 50_000):
            await insert_rows(session, _PICK, [
                {"participant_id": participant_id, "version": version, "card_rank": rank}
                for rank, (participant_id, version) in enumerate(picks[start:start + 50_000], start=start + 1)
            ])
        first_card = _CARD_BASE + wave.number * _WAVE_FACTOR
        pick_table = _PICK.alias("selection_pick")
        # Only participants still as drawn: anyone selected, revoked or changed meanwhile is not
        # taken from elsewhere (the database refuses moving a participant between waves too).
        selected = await _written(session, (
            update(P)
            .where(P.c.id == pick_table.c.participant_id, P.c.version == pick_table.c.version,
                   P.c.status == ParticipantStatus.REGISTERED.value, P.c.wave_id.is_(None))
            .values(
                status=ParticipantStatus.SELECTED.value, wave_id=wave.id,
                card_number=cast(literal(first_card, BigInteger) + pick_table.c.card_rank, String(20)),
                balance_idr=wave.training_balance_idr, selected_at=at, version=P.c.version + 1,
            )
        ))
        if selected != len(picks):
            raise _PoolChanged(len(picks), selected)
        return selected
    finally:
        if is_sqlite:
            await session.execute(text("DROP TABLE IF EXISTS temp.selection_pick"))


async def _written(session: AsyncSession, statement: Executable) -> int:
    """How many rows an INSERT ... SELECT or an UPDATE wrote."""
    result = await session.execute(statement)
    assert isinstance(result, CursorResult)  # what a statement that writes returns
    return result.rowcount


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
        assert wave.id is not None  # a wave read
        return await _rejection_counts(session, wave.id)


async def list_rejections(
    db: Database, actor: Actor, wave_number: int, reason: str = "", cursor: Cursor | None = None, limit: int = 100
) -> Page[RejectedRow]:
    """The participants the wave's selection rejected, with their reason (optionally one reason)."""
    actor.require("wave.read")
    async with read_session(db) as session:
        wave = await wave_by_number(session, wave_number)
        query = (
            select(col(SelectionRejection.id), col(SelectionRejection.participant_id), col(Participant.nik),
                   col(Participant.full_name), col(SelectionRejection.reason))
            .join(Participant, col(Participant.id) == col(SelectionRejection.participant_id))
            .where(col(SelectionRejection.wave_id) == wave.id)
        )
        if reason:
            query = query.where(col(SelectionRejection.reason) == reason)
        if actor.is_platform_staff:
            # Only people who bought on their platform (a rejection elsewhere is no business of theirs).
            query = query.where(exists().where(
                col(Enrollment.participant_id) == col(SelectionRejection.participant_id),
                col(Enrollment.platform_id) == actor.platform_id,
            ))
        rows = (await session.execute(keyset(query, [col(SelectionRejection.id)], cursor, limit))).all()
    views = [RejectedRow(row.id, row.participant_id, mask_nik(row.nik), row.full_name, row.reason) for row in rows]
    return page_of(views, limit, lambda view: (view.id,), cursor=cursor)


# --- the purchase-deadline sweep -----------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    wave_number: int
    deadline: dt.date
    revoked: int
    blacklisted: int
    returned_idr: int


def _unpurchased(wave: Wave) -> ColumnElement[bool]:
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


SWEEP_PART = 10_000  # participants per transaction of the sweep: well under a second of lock


async def sweep_wave(
    db: Database, actor: Actor, wave_number: int, *, today: dt.date | None = None, at: dt.datetime | None = None
) -> SweepResult:
    """Revoke the cards of the wave's participants who bought nothing by the deadline, blacklist
    their NIKs (reason: no purchase in time) and return their balances.

    Done in parts of SWEEP_PART participants, each its own transaction with its own audit event
    (`wave.sweep_part`), so other operators' writes go on between them (one transaction for a
    wave of 800,000 held SQLite's write lock for many seconds). The parts add up to the same end:
    after the deadline nobody can make a first purchase, so the set being swept only shrinks.
    The last part marks the wave swept and records `wave.swept` with this run's totals; a sweep
    cut short (a lost connection, a killed process) is finished by running it again."""
    actor.require("wave.sweep")
    today = today or dt.date.today()
    at = at or utcnow()
    totals = Counter[str]()
    while True:
        result = await _sweep_part(db, actor, wave_number, today, at, totals)
        if result is not None:
            await refresh_statistics(db, "participant")  # the wave's statuses moved at once
            return result


@operation
async def _sweep_part(
    uow: UnitOfWork, wave_number: int, today: dt.date, at: dt.datetime, totals: Counter[str]
) -> SweepResult | None:
    """One part of the sweep; adds its figures to `totals`. Returns the result after the last."""
    session = uow.session
    wave = await wave_by_number(session, wave_number, for_update=True)
    _check_sweepable(wave, today)
    # Purchases hold their wave FOR SHARE (waves.hold_waves): with the wave locked here none
    # is half-way, so the participants counted, blacklisted and revoked below are the same.
    boundary = (
        select(P.c.id).where(_unpurchased(wave)).order_by(P.c.id).offset(SWEEP_PART - 1).limit(1)
    ).scalar_subquery()
    in_part = and_(_unpurchased(wave), P.c.id <= func.coalesce(boundary, literal(2**62, BigInteger)))
    revoked, returned = (
        await session.execute(select(func.count(), func.coalesce(func.sum(P.c.balance_idr), 0)).where(in_part))
    ).one()
    blacklisted = await _written(
        session,
        insert(BlacklistEntry).from_select(
            ["version", "nik", "reason", "source", "listed_on", "listed_by", "lift_reason", "lift_decision_ref"],
            select(
                literal(1), P.c.nik, literal(NO_PURCHASE), literal(f"sweep:wave:{wave.number}"),
                literal(today), literal(uow.actor.operator_id, BigInteger), literal(""), literal(""),
            ).where(
                in_part,
                ~exists().where(col(BlacklistEntry.nik) == P.c.nik, col(BlacklistEntry.lifted_at).is_(None)),
            ),
        ),
    )
    await session.execute(
        update(P).where(in_part).values(
            status=ParticipantStatus.REVOKED.value, balance_idr=0, revoked_at=at, revoke_reason=NO_PURCHASE,
            version=P.c.version + 1,
        )
    )
    part = {"revoked": revoked, "blacklisted": blacklisted, "returned_idr": int(returned)}  # NUMERIC on PostgreSQL
    totals.update(part)
    totals["parts"] += 1
    if revoked == SWEEP_PART:
        uow.audit("wave.sweep_part", "wave", wave.id, details={"part": totals["parts"], **part})
        return None
    wave.swept_at = at
    figures = {key: totals[key] for key in part}
    uow.audit("wave.swept", "wave", wave.id, details={
        "deadline": _deadline(wave), **figures, **({"parts": totals["parts"]} if totals["parts"] > 1 else {}),
    })
    return SweepResult(wave.number, _deadline(wave), figures["revoked"], figures["blacklisted"], figures["returned_idr"])
