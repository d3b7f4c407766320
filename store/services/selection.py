"""Selection into a wave, its rejections, and the purchase-deadline sweep.

A wave holds up to 800,000 participants, so both are set-based SQL (INSERT ... SELECT, UPDATE
... FROM), never a loop over ORM objects:

- Eligibility: every registered participant gets at most one rejection reason per wave, computed
  by one CASE (invalid NIK, age outside 18-64 on the wave's start date, blacklisted, on an
  exclusion list), written as `selection_rejection` rows that can be listed afterwards.
- The draw: eligible participants are ordered by md5("<seed>:<NIK>") (see `draw_key`), so the same
  seed over the same registry picks the same people on either back end; then taken in that
  order within the province quotas and the total quota (`pick`).
- Card numbers follow the draw: 5, the wave number in five digits, the rank in ten.
- Both are written in parts, each its own short transaction: the selection while its wave is
  `selecting` (`select_participants`), the sweep by SWEEP_PART participants (`sweep_wave`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

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
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from store.actor import Actor
from store.bulk import insert_rows
from store.engine import Database, refresh_statistics, roomy_cache
from store.errors import Conflict, RuleViolation, Stopped
from store.failures import explain_constraint
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
from store.services.registry import mask_nik, tallied
from store.services.waves import allow_long_statements, hold_lists, province_quotas, wave_by_number
from store.operation import operation
from store.uow import UnitOfWork, read_session

# SQLite names the column, not the index.
explain_constraint(("uq_wave_selecting", "wave.state"), "wave.another_selecting", Conflict)

MIN_AGE, MAX_AGE = 18, 64
REASONS = (
    "invalid_nik", "too_young", "too_old", "blacklisted",
    *(kind.value for kind in ExclusionKind),
)
NO_PURCHASE = "no_purchase"  # revocation and blacklist reason of the sweep
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
        (_blacklisted(), "blacklisted"),
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
    open_seats = max(0, quota - sum(province_quotas.values()))
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
    # Resumed after the purchase deadline: finished with the members it held, nobody added.
    finished_after_deadline: bool = False


async def _rejection_counts(session: AsyncSession, wave_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(col(SelectionRejection.reason), func.count())
        .where(col(SelectionRejection.wave_id) == wave_id)
        .group_by(col(SelectionRejection.reason))
    )
    counts = dict(rows.all())
    return {reason: counts[reason] for reason in REASONS if reason in counts}


class _Pick(NamedTuple):
    participant_id: int
    version: int  # the row's version when drawn: a pick changed since is not taken
    rank: int  # its card's rank in the wave


@dataclass(frozen=True)
class _Draw:
    """A draw computed from one consistent view of the registry: who is rejected and why, and the
    picks with the row version each was drawn at and its card rank. A wave part-selected already (a
    later draw, a selection resumed) keeps its members: the draw fills the seats they leave."""

    quotas: dict[str, int]
    registered: int  # registered when drawn, the wave's members included
    rejections: list[tuple[int, str]]  # (participant id, reason), those not written yet
    picks: list[_Pick]  # in draw order


@dataclass(frozen=True)
class _Run:
    """A selection under way: the version its claim left on the wave. Resuming the selection
    elsewhere moves it (nothing else may change a wave being selected), and this run stops at
    its next part."""

    wave_number: int
    seed: int
    version: int
    resumed: bool  # the wave was part-selected already
    past_deadline: bool  # resumed after the wave's purchase deadline: finished with its members


def _check_selectable(wave: Wave, seed: int, at: dt.datetime) -> None:
    if wave.state not in (WaveState.PLANNED, WaveState.OPEN):
        raise RuleViolation("wave.already_selected", number=wave.number)
    if at.date() > _deadline(wave):
        # Nobody selected now could still make a first purchase: the sweep would revoke them all.
        raise RuleViolation("wave.selection_after_deadline", number=wave.number, deadline=_deadline(wave).isoformat())
    if not 0 <= seed < 2**63:
        raise RuleViolation("wave.bad_seed", seed=seed)


def _check_run(wave: Wave, run: _Run) -> None:
    if wave.state != WaveState.SELECTING or wave.version != run.version:
        raise Conflict("wave.selection_interrupted", number=wave.number)


SELECTION_PART = 10_000  # picks given their cards per transaction: well under a second of lock
REJECTION_PART = 50_000  # rejections written per transaction
DRAWS = 3  # a draw after the first fills the seats of picks that changed or were listed before their part


@dataclass
class _Progress:
    """How far a selection is, for a progress bar: the registry read by the draw, then the cards
    written, out of the registered and the wave's quota; and whether the operator asked it to
    stop (between two parts: what is written stays, the wave stays `selecting`)."""

    report: Callable[[int, int], None]
    should_stop: Callable[[], bool]
    total: int = 0
    read: int = 0  # rows of the registry the current draw has read
    written: int = 0  # cards this run has written

    def tell(self) -> None:
        self.report(min(self.read + self.written, self.total), self.total)

    def check_stop(self, wave_number: int) -> None:
        if self.should_stop():
            raise Stopped("wave.selection_stopped", number=wave_number)


async def select_participants(
    db: Database, actor: Actor, wave_number: int, seed: int | None = None, *, at: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None, should_stop: Callable[[], bool] | None = None,
) -> SelectionResult:
    """Select eligible registered participants into the wave, up to its quota(s), drawn by `seed`
    (None: a new seed, or the one of the selection under way).

    Each selected participant gets a card number and the wave's training balance; the wave goes
    in progress (its scheme is locked). `at` backdates the selection (demo fixtures only).

    The wave is first claimed (`selecting`: one wave at a time, program-wide, its scheme locked);
    the draw reads the whole registry (tens of seconds at a million) from a snapshot, holding no
    lock; its result is written in parts of SELECTION_PART, each its own transaction, so other
    operators' writes wait a part at most, never the whole selection. A pick whose record moved
    or whose NIK was listed before its part was written is not taken: another draw then fills
    those seats around the members already written. A selection cut short (a lost connection, a
    killed process) stays `selecting` and is finished by selecting the wave again; its members
    stay, and the draw goes on from them (after the purchase deadline, nobody is added: those
    selected then could never buy in time).

    `progress(done, total)` is told as the registry is read and the cards written; `should_stop`
    is asked between parts (stopped, the selection is one cut short)."""
    actor.require("wave.select")
    at = at or utcnow()
    run = await _claim(db, actor, wave_number, seed, at)
    told = _Progress(progress or (lambda _done, _total: None), should_stop or (lambda: False))
    draws = 0
    while True:
        draws += 1
        async with read_session(db, snapshot=True) as session:
            wave = await wave_by_number(session, wave_number)
            _check_run(wave, run)
            await allow_long_statements(session)
            told.total = await tallied(session, None, ParticipantStatus.REGISTERED.value) + wave.quota
            draw = await _read_draw(session, db.is_sqlite, wave, run.seed, told)
        if run.past_deadline:
            draw = _Draw(draw.quotas, draw.registered, draw.rejections, picks=[])
        if await _write_draw(db, actor, run, draw, at, told):
            break
        if draws == DRAWS:
            raise Conflict("wave.selection_changed", number=wave_number)
    result = await _finish(db, actor, run, draw, at, redrawn=run.resumed or draws > 1)
    await refresh_statistics(db, "participant")  # the wave's lists are planned knowing it is full
    told.report(told.total, told.total)
    return result


@operation
async def _claim(uow: UnitOfWork, wave_number: int, seed: int | None, at: dt.datetime) -> _Run:
    """The wave `selecting` with its seed (or, already so, taken over by this run)."""
    session = uow.session
    wave = await wave_by_number(session, wave_number, for_update=True)
    assert wave.id is not None  # a wave read
    resumed = wave.state == WaveState.SELECTING
    if resumed:
        assert wave.selection_seed is not None  # recorded by the claim that started it
        if seed is not None and seed != wave.selection_seed:
            raise RuleViolation("wave.selecting_with_seed", number=wave.number, seed=wave.selection_seed)
        flag_modified(wave, "state")  # moves the version: a run still going stops at its next part
        uow.audit("wave.selection_resumed", "wave", wave.id, details={"seed": wave.selection_seed})
    else:
        seed = secrets.randbelow(2**31) if seed is None else seed
        _check_selectable(wave, seed, at)
        other = (await session.execute(
            select(col(Wave.number)).where(col(Wave.state) == WaveState.SELECTING)
        )).scalar_one_or_none()
        if other is not None:
            raise Conflict("wave.other_selecting", number=wave.number, other=other)
        wave.state = WaveState.SELECTING
        wave.selection_seed = seed
        wave.selected_by = uow.actor.operator_id
        uow.audit("wave.selection_started", "wave", wave.id, details={
            "seed": seed, "quota": wave.quota, "province_quotas": await province_quotas(session, wave.id),
        })
    await session.flush()
    assert wave.selection_seed is not None
    return _Run(wave.number, wave.selection_seed, wave.version, resumed, at.date() > _deadline(wave))


async def _write_draw(db: Database, actor: Actor, run: _Run, draw: _Draw, at: dt.datetime, told: _Progress) -> bool:
    """The draw's rejections, then its picks, in parts. False when a pick was not taken: its
    record moved, or its NIK was listed, since the draw. What was written stays: each row was
    right when its part was written."""
    for start in range(0, len(draw.rejections), REJECTION_PART):
        told.check_stop(run.wave_number)
        await _write_rejections(db, actor, run, draw.rejections[start:start + REJECTION_PART])
    all_taken = True
    # Parts by participant id, not by card: a part's rows then share table and index pages
    # (10,000 picks spread over a million registered took 0.9 s a part on SQLite, 0.16 s by id).
    by_id = sorted(draw.picks)
    for start in range(0, len(by_id), SELECTION_PART):
        part = by_id[start:start + SELECTION_PART]
        told.check_stop(run.wave_number)
        taken = await _write_picks(db, actor, run, part, at)
        told.written += taken
        told.tell()
        all_taken = taken == len(part) and all_taken
    return all_taken


async def _part_wave(uow: UnitOfWork, run: _Run) -> Wave:
    """The wave, locked, for the next part of this run."""
    wave = await wave_by_number(uow.session, run.wave_number, for_update=True)
    _check_run(wave, run)
    return wave


@operation
async def _write_rejections(uow: UnitOfWork, run: _Run, rejections: list[tuple[int, str]]) -> None:
    wave = await _part_wave(uow, run)
    await insert_rows(uow.session, SelectionRejection.__table__, [
        {"wave_id": wave.id, "participant_id": participant_id, "reason": reason}
        for participant_id, reason in rejections
    ])
    uow.audit("wave.selection_part", "wave", wave.id, details={"rejected": len(rejections)})


@operation
async def _write_picks(uow: UnitOfWork, run: _Run, picks: list[_Pick], at: dt.datetime) -> int:
    """How many of the picks got their cards."""
    wave = await _part_wave(uow, run)
    await hold_lists(uow.session, to_select=True)
    await roomy_cache(await uow.session.connection())
    taken = await _give_cards(uow.session, uow.db.is_sqlite, wave, picks, at)
    uow.audit("wave.selection_part", "wave", wave.id, details={"drawn": len(picks), "selected": taken})
    return taken


@operation
async def _finish(uow: UnitOfWork, run: _Run, draw: _Draw, at: dt.datetime, *, redrawn: bool) -> SelectionResult:
    """The wave in progress with what its parts wrote, and the audit event of the whole."""
    session = uow.session
    wave = await wave_by_number(session, run.wave_number, for_update=True)
    _check_run(wave, run)
    assert wave.id is not None  # a wave read
    if redrawn:
        # Rejected by one draw and picked by a later one (their record corrected in between): a member.
        await session.execute(delete(SelectionRejection).where(
            col(SelectionRejection.wave_id) == wave.id,
            col(SelectionRejection.participant_id).in_(select(P.c.id).where(P.c.wave_id == wave.id)),
        ))
    selected = await tallied(session, wave.id, "")
    rejected = await _rejection_counts(session, wave.id)
    wave.state = WaveState.IN_PROGRESS
    wave.selected_at = at
    wave.registered_count = draw.registered
    uow.audit(
        "wave.selected", "wave", wave.id,
        details={"seed": run.seed, "registered": draw.registered, "selected": selected, "rejected": rejected,
                 "quota": wave.quota, "province_quotas": draw.quotas,
                 **({"finished_after_deadline": True} if run.past_deadline else {})},
    )
    return SelectionResult(wave.number, run.seed, draw.registered, selected, rejected, run.past_deadline)


async def _read_draw(session: AsyncSession, is_sqlite: bool, wave: Wave, seed: int, told: _Progress) -> _Draw:
    """Every registered participant's rejection reason, and the eligible ranked by the seeded key
    and picked within the quotas the wave's members leave, from one pass over the registry.

    The ranking is computed here, from the NIKs read in batches of 50,000: one code path for both
    back ends, so the same seed draws the same people on either, and the quota rule is plain
    Python (`pick`). Ranking inside the database instead (window functions over md5, registered
    from Python on SQLite, COLLATE "C" on PostgreSQL) was measured at the same speed. Only the
    contenders are kept (`Contenders`): at 20 million registered, keeping everyone's key took
    5 GB."""
    assert wave.id is not None  # a wave read
    quotas = await province_quotas(session, wave.id)
    # The wave's members (a selection resumed, or a later draw): their provinces and card ranks.
    members = Counter[str]()
    ranks_held: set[int] = set()
    first_card = _card(wave, 0)
    for province, card in await session.execute(select(P.c.province_code, P.c.card_number).where(P.c.wave_id == wave.id)):
        members[province] += 1
        ranks_held.add(int(card) - first_card)
    written = set((await session.execute(
        select(col(SelectionRejection.participant_id)).where(col(SelectionRejection.wave_id) == wave.id)
    )).scalars())
    seats = max(0, wave.quota - members.total())
    seats_of = {province: max(0, quota - members[province]) for province, quota in quotas.items()}
    query = (
        select(P.c.id, P.c.version, P.c.province_code, P.c.nik, rejection_reason(wave, is_sqlite))
        .where(P.c.status == ParticipantStatus.REGISTERED.value)
        .execution_options(yield_per=50_000)
    )
    rejections: list[tuple[int, str]] = []
    contenders = Contenders(seats, seats_of)
    eligible = rejected = 0
    async for batch in (await session.stream(query)).partitions():
        for participant_id, version, province, nik, reason in batch:
            if reason is None:
                eligible += 1
                contenders.offer(draw_key(seed, nik), participant_id, province, version)
            else:
                rejected += 1
                if participant_id not in written:
                    rejections.append((participant_id, reason))
        told.read = eligible + rejected
        told.tell()
    ranked = contenders.ranked()
    versions = {participant_id: version for participant_id, _province, version in ranked}
    chosen = pick(((participant_id, province) for participant_id, province, _version in ranked), seats, seats_of)
    # Card ranks in draw order, those the members hold skipped: a selection resumed over an
    # unchanged registry numbers its cards exactly as one never cut short.
    free_ranks = (rank for rank in itertools.count(1) if rank not in ranks_held)
    picks = [_Pick(participant_id, versions[participant_id], next(free_ranks)) for participant_id in chosen]
    return _Draw(quotas, eligible + rejected + members.total(), rejections, picks)


def _card(wave: Wave, rank: int) -> int:
    """The card number of the wave's `rank`-th pick: 5, the wave number in five digits, the rank in ten."""
    return _CARD_BASE + wave.number * _WAVE_FACTOR + rank


async def _give_cards(
    session: AsyncSession, is_sqlite: bool, wave: Wave, picks: list[_Pick],
    at: dt.datetime,
) -> int:
    """Card, balance and SELECTED status for the picks still as drawn (the same version, still
    registered), by one UPDATE ... FROM a temporary table of the picks (most of the selection's
    write time: the rows with their index entries). Returns how many were taken."""
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
        await insert_rows(session, _PICK, [
            {"participant_id": participant_id, "version": version, "card_rank": rank}
            for participant_id, version, rank in picks
        ])
        pick_table = _PICK.alias("selection_pick")
        if is_sqlite:
            # Driven from the picks, by id: joined, SQLite walks every registered participant (its
            # index on wave and status) and looks each up among the picks, a second per part at
            # a million registered.
            def of_pick(column: Column[int]) -> ColumnElement[int]:
                return select(column).where(pick_table.c.participant_id == P.c.id).scalar_subquery()

            version, rank = of_pick(pick_table.c.version), of_pick(pick_table.c.card_rank)
            statement = update(P).where(P.c.id.in_(select(pick_table.c.participant_id)))
        else:
            # Planned knowing the picks are few: without statistics of the new table, PostgreSQL
            # hashed them and read the whole registry for each part (1.8 s a part at a million,
            # against 0.45 s by the participants' key).
            await session.execute(text("ANALYZE selection_pick"))
            version, rank = pick_table.c.version, pick_table.c.card_rank
            statement = update(P).where(P.c.id == pick_table.c.participant_id)
        # Only participants still as drawn: anyone selected, revoked or changed meanwhile is not
        # taken from elsewhere (the database refuses moving a participant between waves too).
        return await _written(session, (
            statement
            .where(P.c.version == version, P.c.status == ParticipantStatus.REGISTERED.value, P.c.wave_id.is_(None),
                   ~_listed())
            .values(
                status=ParticipantStatus.SELECTED.value, wave_id=wave.id,
                card_number=cast(literal(_card(wave, 0), BigInteger) + rank, String(20)),
                balance_idr=wave.training_balance_idr, selected_at=at, version=P.c.version + 1,
            )
        ))
    finally:
        if is_sqlite:
            await session.execute(text("DROP TABLE IF EXISTS temp.selection_pick"))


def _listed() -> ColumnElement[bool]:
    """The participant's NIK is blacklisted (a standing entry) or on an exclusion list."""
    return or_(_blacklisted(), exists().where(col(ExclusionEntry.nik) == P.c.nik))


def _blacklisted() -> ColumnElement[bool]:
    """The participant's NIK has a standing blacklist entry."""
    return exists().where(col(BlacklistEntry.nik) == P.c.nik, col(BlacklistEntry.lifted_at).is_(None))


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
                ~_blacklisted(),
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
